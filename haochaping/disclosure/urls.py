"""The public portal under /open/ (no login). Moderation (the agency's side): urls_moderation.py, /disclosure/."""

from django.urls import path

from haochaping.disclosure import views_mode, views_opendata, views_portal, views_publication, views_track

app_name = "disclosure"

urlpatterns = [
    # figures per region, department, hall and 事项; search; rankings; integrity (views_portal.py)
    path("", views_portal.portal, name="portal"),
    path("region/<str:code>/", views_portal.region, name="region"),
    path("unit/<int:pk>/", views_portal.unit, name="unit"),
    path("hall/<int:pk>/", views_portal.hall, name="hall"),
    path("item/<int:pk>/", views_portal.item, name="item"),
    path("search/", views_portal.search, name="search"),
    path("rankings/", views_portal.rankings, name="rankings"),
    path("integrity/", views_portal.integrity, name="integrity"),
    # bad reviews and what was done about them, after moderation (views_publication.py)
    path("rectifications/", views_publication.rectifications, name="rectifications"),
    path("rectifications/<int:pk>/", views_publication.rectification, name="rectification"),
    # the rater's own case, by its number and lookup code (views_track.py)
    path("track/", views_track.track, name="track"),
    # open data: monthly datasets, schema and licence; published periodic reports (views_opendata.py)
    path("data/", views_opendata.index, name="open_data"),
    path("data/datapackage.json", views_opendata.datapackage, name="datapackage"),
    path("data/<str:dataset>/<str:month>.<str:fmt>", views_opendata.download, name="dataset"),
    path("reports/", views_opendata.reports, name="reports"),
    path("reports/<int:pk>.<str:fmt>", views_opendata.report_file, name="report_file"),
    # the reader's display preference: elderly mode (适老化)
    path("mode/", views_mode.mode, name="mode"),
]
