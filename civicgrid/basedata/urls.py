from django.urls import path

from . import views

app_name = "basedata"
urlpatterns = [
    path("", views.roster, name="roster"),
    path("persons/export.xlsx", views.person_export, name="person_export"),
    path("persons/import/", views.person_import, name="person_import"),
    path("persons/template.xlsx", views.import_template, name="import_template"),
    path("persons/<int:pk>/", views.person_detail, name="person_detail"),
    path("persons/<int:pk>/reveal/", views.person_reveal, name="person_reveal"),
    path("tags/", views.tag_list, name="tags"),
    path("grids/<str:code>/", views.grid_profile, name="grid_profile"),
    path("import/jobs/<int:pk>/", views.import_job, name="import_job"),
    path("import/jobs/<int:pk>/status", views.import_job_status, name="import_job_status"),
    path("import/<str:entity>/", views.records_import, name="records_import"),
    path("import/<str:entity>/template.xlsx", views.records_template, name="records_template"),
    path("map/points", views.map_points, name="map_points"),
    path("visits/<int:pk>/photo/", views.visit_photo, name="visit_photo"),
    path("cases/<int:case_id>/links/", views.case_link_add, name="case_link_add"),
    path("links/<int:pk>/delete/", views.case_link_delete, name="case_link_delete"),
    path(
        "<str:entity>/<int:pk>/checkins/",
        views.record_checkins_enable,
        name="record_checkins_enable",
    ),
    path("<str:entity>/<int:pk>/link/", views.record_link, name="record_link"),
    path("<str:entity>/", views.record_list, name="records"),
    path("<str:entity>/<int:pk>/", views.record_detail, name="record_detail"),
]
