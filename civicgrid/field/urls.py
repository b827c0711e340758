from django.urls import path

from . import views

app_name = "field"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/<int:pk>/", views.task_detail, name="task"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("report/", views.report, name="report"),
    path("patrol/", views.patrol, name="patrol"),
    path("patrols/<str:key>/", views.patrol_detail, name="patrol_detail"),
    path("checkin/", views.checkin, name="checkin"),
    path("outbox/", views.outbox, name="outbox"),
    path("me/", views.me, name="me"),
    path("offline/", views.offline, name="offline"),
    path("sw.js", views.service_worker, name="sw"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
]
