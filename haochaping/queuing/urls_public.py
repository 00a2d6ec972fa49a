from django.urls import path

from haochaping.queuing import views

app_name = "ticket_public"
urlpatterns = [path("<str:token>/", views.rate, name="rate")]
