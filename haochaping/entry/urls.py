from django.urls import path

from haochaping.entry import views

app_name = "entry"

urlpatterns = [
    path("", views.index, name="index"),
    path("hotline/", views.hotline, name="hotline"),
    path("complaint/", views.hotline_complaint, name="complaint"),
    path("paper/", views.paper, name="paper"),
    path("paper/import/", views.paper_import, name="paper_import"),
    path("scan/<int:entry_id>/", views.scan, name="scan"),
]
