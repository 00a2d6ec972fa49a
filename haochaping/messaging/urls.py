from django.urls import path

from haochaping.messaging import views

app_name = "messaging"

urlpatterns = [path("console/", views.console, name="console")]
