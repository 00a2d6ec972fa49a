from django.urls import path

from haochaping.society import views_suggestions

app_name = "suggestions"
urlpatterns = [
    path("", views_suggestions.new, name="new"),
]
