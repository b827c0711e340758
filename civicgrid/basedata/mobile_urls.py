"""The field app's base-data pages, mounted at /field/basedata/ (inside the service worker)."""

from django.urls import path

from . import mobile

app_name = "basedata_field"
urlpatterns = [
    path("", mobile.collect, name="collect"),
    path("visits/", mobile.visits, name="visits"),
]
