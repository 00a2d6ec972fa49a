from django.urls import path

from haochaping.ratings import embed, views

app_name = "ratings"

urlpatterns = [
    path("<str:token>/", views.rate, name="rate"),
    path("<str:token>/embed/", embed.embed, name="embed"),
    path("<str:token>/qr.svg", views.qr_svg, name="qr_svg"),
    path("<str:token>/qr.png", views.qr_png, name="qr_png"),
]
