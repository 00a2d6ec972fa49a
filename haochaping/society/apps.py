from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SocietyConfig(AppConfig):
    """综合点评 (society): the public suggestion box (意见箱, handled as cases of kind 意见建议, routed like
    complaints) and the results of commissioned third-party assessments (第三方评估), imported per unit and period."""

    name = "haochaping.society"
    label = "society"
    verbose_name = _("社会评价")
