from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluatorConfig(AppConfig):
    name = "haochaping.evaluator"
    label = "evaluator"
    verbose_name = _("窗口评价器")
