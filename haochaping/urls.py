from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from haochaping.api import api
from haochaping.disclosure.api import api as open_api
from haochaping.web import health, metrics
from haochaping.web import views as web_views
from haochaping.web.auth import SiteLoginView

admin.site.site_header = _("政务服务“好差评”管理系统")
admin.site.site_title = _("好差评")
admin.site.index_title = _("管理首页")

urlpatterns = [
    path("", web_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("login/", SiteLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(next_page="/"), name="logout"),
    path("account/two-factor/", include("haochaping.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/open/v1/", open_api.urls),
    path("api/v1/", api.urls),
    path("r/", include("haochaping.ratings.urls")),
    path("evaluator/", include("haochaping.evaluator.urls")),
    path("q/", include("haochaping.qrcodes.urls")),
    path("entry/", include("haochaping.entry.urls")),
    path("sms/", include("haochaping.messaging.urls")),
    path("cases/", include("haochaping.cases.urls")),
    path("analytics/", include("haochaping.analytics.urls")),
    path("insight/", include("haochaping.insight.urls")),
    path("open/", include("haochaping.disclosure.urls")),
    path("disclosure/", include("haochaping.disclosure.urls_moderation")),
    path("exchange/", include("haochaping.exchange.urls")),
    path("inspections/", include("haochaping.inspections.urls")),
    path("surveys/", include("haochaping.surveys.urls")),
    path("s/", include("haochaping.surveys.urls_public")),  # short: the link travels in an SMS
    path("suggestions/", include("haochaping.society.urls_suggestions")),
    path("assessments/", include("haochaping.society.urls_assessments")),
    path("queue/", include("haochaping.queuing.urls")),
    path("t/", include("haochaping.queuing.urls_public")),  # short: printed on the queue ticket as a QR code
    path("hotline/", include("haochaping.hotline.urls")),
    path("integrity/chain/", include("haochaping.seal.urls")),
    path("integrity/audit/", include("haochaping.audit.urls")),
    path("integrity/", include("haochaping.integrity.urls")),
]
