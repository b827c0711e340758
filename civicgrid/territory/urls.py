from django.urls import path

from . import views

app_name = "territory"
urlpatterns = [
    path("grids/", views.grid_list, name="grid_list"),
]
