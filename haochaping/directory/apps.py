from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    name = "haochaping.directory"
    label = "directory"
    verbose_name = _("组织机构与事项目录")
