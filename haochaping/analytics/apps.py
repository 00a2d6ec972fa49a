from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    """统计分析 (metrics, rollups, dashboards, reports, rankings)."""

    name = "haochaping.analytics"
    label = "analytics"
    verbose_name = _("统计分析")

    def ready(self) -> None:
        # The rollups are kept exact in the transactions that change ratings: intake's after-write hook (new
        # ratings) and the adoption hook (a rating set aside or counted again after an appeal).
        from haochaping.analytics import rollups
        from haochaping.ratings import intake, services

        intake.register_after_write(rollups.ratings_added, rollups.wants_all)
        services.register_adoption_hook(rollups.adoption_changed)
