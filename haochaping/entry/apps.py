from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EntryConfig(AppConfig):
    name = "haochaping.entry"
    label = "entry"
    verbose_name = _("热线与纸质评价录入")
