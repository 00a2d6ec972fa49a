from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    """服务调查 (surveys): questionnaires sent to a sample of recent applicants by SMS, link or QR code, one response
    per invitation, response rates, and results by unit and 事项."""

    name = "haochaping.surveys"
    label = "surveys"
    verbose_name = _("服务调查")
