"""监督查评 pages (/inspections/…): see views.py for who may use which."""

from django.urls import path

from haochaping.inspections import views

app_name = "inspections"
urlpatterns = [
    path("", views.index, name="index"),
    path("checklists/", views.checklists, name="checklists"),
    path("checklists/new/", views.checklist_new, name="checklist_new"),
    path("checklists/<int:pk>/", views.checklist_edit, name="checklist_edit"),
    path("plans/new/", views.plan_new, name="plan_new"),
    path("plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("new/", views.start, name="start"),
    path("<int:pk>/", views.detail, name="detail"),
    path("photos/<int:pk>", views.photo, name="photo"),
]
