from django.urls import path

from haochaping.exchange import views

app_name = "exchange"

urlpatterns = [
    path("", views.status, name="status"),
]
