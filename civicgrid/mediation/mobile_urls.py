"""The grid worker's mediation pages, mounted at /field/mediation/: inside the field app's service
worker scope, so they open offline and their writes wait in the phone's outbox."""

from django.urls import path

from . import field

app_name = "mediation_field"
urlpatterns = [
    path("", field.field_home, name="home"),
    path("new/", field.field_new, name="new"),
    path("<int:pk>/", field.field_dispute, name="dispute"),
]
