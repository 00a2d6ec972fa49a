from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrityConfig(AppConfig):
    """数据真实性监测 (integrity signals): default, coerced and inflated ratings detected and shown with evidence."""

    name = "haochaping.integrity"
    label = "integrity"
    verbose_name = _("数据真实性监测")
