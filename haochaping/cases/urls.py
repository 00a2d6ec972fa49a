from django.urls import path

from haochaping.cases import views, views_board, views_public, views_rectification

app_name = "cases"

urlpatterns = [
    # handlers and unit administrators (views.py)
    path("", views.queue, name="queue"),
    path("notifications/", views.notifications, name="notifications"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/act/<str:action>/", views.act, name="act"),
    path("<int:pk>/contact/", views.contact, name="contact"),
    # management agency: board, appeals, metrics, ledger (views_board.py)
    path("board/", views_board.board, name="board"),
    path("metrics/", views_board.metrics, name="metrics"),
    path("ledger.xlsx", views_board.ledger_export, name="ledger_export"),
    # rectification items (整改事项) handed over from concentrated problems (views_rectification.py)
    path("rectifications/", views_rectification.rectifications, name="rectifications"),
    path("rectifications/<int:pk>/", views_rectification.rectification_detail, name="rectification_detail"),
    # the public: complaint form and the rater's feedback page (views_public.py)
    path("complaint/", views_public.complaint, name="complaint"),
    path("feedback/<str:token>/", views_public.feedback, name="feedback"),
]
