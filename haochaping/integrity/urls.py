from django.urls import path

from haochaping.integrity import views

app_name = "integrity"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
]
