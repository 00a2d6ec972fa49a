from django.urls import path

from haochaping.qrcodes import views

app_name = "qrcodes"

urlpatterns = [
    path("w/<str:slug>/", views.window_rate, name="window"),
    path("w/<str:slug>/code/", views.window_send_code, name="send_code"),
    path("w/<str:slug>/qr.svg", views.window_qr_svg, name="svg"),
    path("w/<str:slug>/sign.pdf", views.window_sign, name="sign"),
]
