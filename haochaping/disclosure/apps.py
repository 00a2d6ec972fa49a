from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisclosureConfig(AppConfig):
    """信息公开 (disclosure): public portal, 整改公开 (rectification publication), rater lookup, 开放数据."""

    name = "haochaping.disclosure"
    label = "disclosure"
    verbose_name = _("信息公开")
