from django.urls import path

from haochaping.hotline import views

app_name = "hotline"
urlpatterns = [
    path("", views.index, name="index"),
    path("links/<int:region_id>/", views.link_edit, name="link_edit"),
]
