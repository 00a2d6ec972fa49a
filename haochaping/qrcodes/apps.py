from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QrcodesConfig(AppConfig):
    name = "haochaping.qrcodes"
    label = "qrcodes"
    verbose_name = _("二维码评价")
