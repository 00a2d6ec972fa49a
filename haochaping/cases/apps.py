from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    """差评整改与投诉处理 (the bad-review and complaint closed loop)."""

    name = "haochaping.cases"
    label = "cases"
    verbose_name = _("差评与投诉处理")

    def ready(self) -> None:
        # Intake knows nothing of cases: it calls the hooks registered here in the transaction that stores
        # the ratings, so a 差评 and its case land together (or not at all).
        from haochaping.cases import opening, signals  # noqa: F401  (signals: cache invalidation)
        from haochaping.ratings import intake

        intake.register_after_write(opening.open_for_rating_rows, opening.wants_case, late=True)
