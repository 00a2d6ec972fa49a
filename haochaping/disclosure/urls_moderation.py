"""Moderation of the rectification publication (整改公开审核), for the management agency, under /disclosure/."""

from django.urls import path

from haochaping.disclosure import views_moderation

app_name = "moderation"

urlpatterns = [
    path("moderation/", views_moderation.queue, name="queue"),
    path("moderation/<int:pk>/", views_moderation.detail, name="detail"),
]
