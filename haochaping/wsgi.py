"""WSGI entry point for the production server (granian). Rating POSTs take the lean intake path."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haochaping.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

django_application = get_wsgi_application()  # sets Django up before the intake modules import models

from haochaping.ratings.fastpath import IntakeFastPath  # noqa: E402

application = IntakeFastPath(django_application)
