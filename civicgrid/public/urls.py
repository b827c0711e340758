from django.urls import path

from . import citizen, views

app_name = "public"
urlpatterns = [
    path("report/", views.report, name="report"),
    path("track/", views.track_lookup, name="track_lookup"),
    path("track/<str:code>/", views.track, name="track"),
    path("grid/<str:code>/", views.board, name="board"),
    path("square/", views.square, name="square"),
    path("admission/", views.admission, name="admission"),
    path("admission.xlsx", views.admission_export, name="admission_export"),
    path("duplicates/", citizen.duplicates, name="duplicates"),
    path("matters/<str:public_id>/", citizen.matter, name="matter"),
    path("my/reports/", citizen.my_reports, name="my_reports"),
]
