from django.urls import path

from haochaping.surveys import views

app_name = "surveys"
urlpatterns = [
    path("", views.survey_list, name="list"),
    path("new/", views.survey_create, name="create"),
    path("<int:pk>/", views.survey_detail, name="detail"),
    path("<int:pk>/edit/", views.survey_builder, name="builder"),
    path("<int:pk>/links.csv", views.links_csv, name="links_csv"),
    path("<int:pk>/qr/", views.qr_sheet, name="qr_sheet"),
    path("<int:pk>/results.csv", views.results_csv, name="results_csv"),
    path("<int:pk>/answers.csv", views.answers_csv, name="answers_csv"),
]
