from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HotlineConfig(AppConfig):
    """12345热线 (hotline): adopted 差评 sent out as 12345 work orders where a region enables it (the case here stays
    the system of record and receives the hotline's status updates), and the hotline's call-back satisfaction results
    taken in as ratings on the hotline channel; work-order numbers kept on both sides, re-sends idempotent."""

    name = "haochaping.hotline"
    label = "hotline"
    verbose_name = _("12345热线对接")

    def ready(self) -> None:
        from haochaping.hotline import outbound

        outbound.connect()
