from django.urls import path

from haochaping.insight import views_drivers, views_problems, views_routing, views_words

app_name = "insight"

urlpatterns = [
    # hot words, word cloud, comments of a word, surge alerts (views_words.py)
    path("", views_words.index, name="index"),
    path("words/cloud.png", views_words.cloud_png, name="cloud_png"),
    path("words/data.json", views_words.words_json, name="words_json"),
    path("words/comments/", views_words.comments, name="comments"),
    path("alerts/", views_words.alerts, name="alerts"),
    path("alerts/<int:pk>/", views_words.alert_detail, name="alert_detail"),
    # concentrated problems (views_problems.py); their rectification items live in the cases module
    path("problems/", views_problems.index, name="problems"),
    path("problems/<int:pk>/", views_problems.detail, name="problem_detail"),
    # routing suggestions (views_routing.py)
    path("routing/", views_routing.index, name="routing"),
    path("routing/<int:case_id>/", views_routing.decide, name="routing_decide"),
    # driver analysis (views_drivers.py)
    path("drivers/", views_drivers.index, name="drivers"),
]
