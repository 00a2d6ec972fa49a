from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SealConfig(AppConfig):
    """防篡改存证 (tamper evidence): ratings, not-adopted decisions and case events sealed and hash-chained."""

    name = "haochaping.seal"
    label = "seal"
    verbose_name = _("防篡改存证")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from haochaping.cases import opening
        from haochaping.cases.models import CaseEvent
        from haochaping.ratings import intake, services
        from haochaping.seal import sealing

        intake.register_after_write(sealing.ratings_written, sealing.wants_all)
        services.register_adoption_hook(sealing.adoption_changed)
        post_save.connect(sealing.event_saved, sender=CaseEvent, dispatch_uid="seal-case-event")
        opening.register_opening_events_hook(sealing.events_inserted)
