from django.urls import path

from . import views

app_name = "analytics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("exports/", views.exports, name="exports"),
    path("exports/new/", views.export_new, name="export_new"),
    path("exports/<int:pk>/row/", views.export_row, name="export_row"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("assessment/", views.assessment, name="assessment"),
]
