from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightConfig(AppConfig):
    """意见挖掘 (comment mining): hot words, 反映集中的问题 (concentrated problems), surge alerts, routing
    suggestions, driver analysis."""

    name = "haochaping.insight"
    label = "insight"
    verbose_name = _("意见挖掘")
