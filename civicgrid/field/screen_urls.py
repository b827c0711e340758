from django.urls import path

from . import screen_views

app_name = "patrols"
urlpatterns = [
    path("", screen_views.screen_page, name="screen"),
    path("dashboard/", screen_views.dashboard_panel, name="dashboard"),
]
