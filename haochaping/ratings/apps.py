from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RatingsConfig(AppConfig):
    name = "haochaping.ratings"
    label = "ratings"
    verbose_name = _("评价采集")

    def ready(self) -> None:
        from haochaping.ratings import partitioning

        partitioning.group_by_all_rating_columns()
