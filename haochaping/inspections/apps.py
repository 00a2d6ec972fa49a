from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    """监督查评 (inspections): checklists, inspection plans (announced, unannounced 暗访 and mystery-shopper visits),
    the inspector's phone form with photos, scores per item; failed items open 整改事项 in the cases module."""

    name = "haochaping.inspections"
    label = "inspections"
    verbose_name = _("监督查评")
