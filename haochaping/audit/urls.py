from django.urls import path

from haochaping.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.index, name="index"),
    path("admin-log/", views.admin_log, name="admin_log"),
]
