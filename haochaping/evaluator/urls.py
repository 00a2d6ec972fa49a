from django.urls import path

from haochaping.evaluator import views

app_name = "evaluator"

urlpatterns = [
    path("", views.kiosk, name="kiosk"),
    path("pair/", views.pair, name="pair"),
    path("clerk/", views.clerk, name="clerk"),
    path("sw.js", views.service_worker, name="sw"),
]
