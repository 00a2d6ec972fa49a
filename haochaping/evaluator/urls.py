from django.urls import path

from haochaping.evaluator import legacy_views, views

app_name = "evaluator"

urlpatterns = [
    path("", views.kiosk, name="kiosk"),
    path("pair/", views.pair, name="pair"),
    path("clerk/", views.clerk, name="clerk"),
    path("sw.js", views.service_worker, name="sw"),
    path("legacy/", legacy_views.index, name="legacy"),
    path("legacy/figures.csv", legacy_views.figures_csv, name="legacy_csv"),
    path("legacy/models/new/", legacy_views.model_new, name="legacy_model_new"),
    path("legacy/models/<int:pk>/", legacy_views.model_edit, name="legacy_model"),
    path("legacy/devices/<int:pk>/revoke/", legacy_views.device_revoke, name="legacy_revoke"),
]
