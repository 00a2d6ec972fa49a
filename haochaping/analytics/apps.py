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
        # The uptake rollups (评价率, 邀评转化率) likewise: a 办件 registered as completed, its first rating, an offer.
        from haochaping.analytics import rollups, uptake
        from haochaping.ratings import intake, offers, services

        intake.register_after_write(rollups.ratings_added, rollups.wants_all, late=True)
        intake.register_after_write(uptake.ratings_added, uptake.wants_case_ratings, late=True)
        services.register_adoption_hook(rollups.adoption_changed)
        services.register_case_hook(uptake.case_changed)
        offers.register_offer_hook(uptake.offer_added)
