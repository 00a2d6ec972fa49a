from django.urls import path

from haochaping.society import views_assessments as views

app_name = "assessments"
urlpatterns = [
    path("", views.index, name="index"),
    path("import/", views.upload, name="upload"),
    path("template.xlsx", views.template_xlsx, name="template_xlsx"),
    path("template.csv", views.template_csv, name="template_csv"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/export.csv", views.export, name="export"),
]
