from django.urls import path

from haochaping.analytics import views_dashboard, views_performance, views_rankings, views_reports

app_name = "analytics"

urlpatterns = [
    # dashboards with drill-down (views_dashboard.py)
    path("", views_dashboard.dashboard, name="dashboard"),
    path("data.json", views_dashboard.data, name="data"),
    path("export.csv", views_dashboard.export_csv, name="export_csv"),
    # fair rankings (views_rankings.py)
    path("rankings/", views_rankings.rankings, name="rankings"),
    # periodic reports (views_reports.py)
    path("reports/", views_reports.reports, name="reports"),
    path("reports/<int:pk>/", views_reports.report_detail, name="report_detail"),
    path("reports/<int:pk>/<str:fmt>/", views_reports.report_file, name="report_file"),
    # performance inputs, watchlist, coverage (views_performance.py)
    path("performance/", views_performance.performance, name="performance"),
    path("performance/weights/", views_performance.weights, name="weights"),
    path("watchlist/", views_performance.watchlist, name="watchlist"),
    path("coverage/", views_performance.coverage, name="coverage"),
]
