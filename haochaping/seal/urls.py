from django.urls import path

from haochaping.seal import views

app_name = "seal"

urlpatterns = [
    path("", views.index, name="index"),
]
