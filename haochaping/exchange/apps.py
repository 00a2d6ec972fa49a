from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    """数据交换 (exchange): the upward push to the superior platform (transactional outbox), the receiving side
    for registered subordinate platforms, and the file drop for business systems that can only export files."""

    name = "haochaping.exchange"
    label = "exchange"
    verbose_name = _("数据交换")

    def ready(self) -> None:
        from haochaping.exchange import outbox

        outbox.connect()
