from django.urls import path

from haochaping.queuing import views

app_name = "queuing"
urlpatterns = [path("", views.index, name="index")]
