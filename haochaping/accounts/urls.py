from django.urls import path

from haochaping.accounts import twofactor

app_name = "accounts"

urlpatterns = [
    path("", twofactor.enrol, name="two_factor"),
    path("verify/", twofactor.verify, name="two_factor_verify"),
]
