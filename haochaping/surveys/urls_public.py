from django.urls import path

from haochaping.surveys import views_public

app_name = "survey_public"
urlpatterns = [
    path("<str:token>/", views_public.respond, name="respond"),
]
