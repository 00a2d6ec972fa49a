from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    """审计 (audit): who viewed which rater's identity and why, administrative actions, personal-data retention."""

    name = "haochaping.audit"
    label = "audit"
    verbose_name = _("审计")

    def ready(self) -> None:
        from haochaping.audit.services import connect_signals

        connect_signals()
