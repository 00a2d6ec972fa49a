"""WSGI entry point for the production server (granian). Rating POSTs take the lean intake path.

Outermost: the metrics and access-log wrapper (haochaping/web/metrics.py), so the fast path is counted too.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haochaping.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

django_application = get_wsgi_application()  # sets Django up before the intake modules import models

from django.conf import settings  # noqa: E402

from haochaping.ratings.fastpath import IntakeFastPath  # noqa: E402
from haochaping.web.metrics import Observed  # noqa: E402

application = Observed(
    IntakeFastPath(django_application),
    log_requests=settings.LOG_REQUESTS,
    trusted_proxies=settings.HAOCHAPING_TRUSTED_PROXIES,
)
