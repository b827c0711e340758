from django.urls import path

from . import views

app_name = "mediation"
urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("new/", views.dispute_new, name="new"),
    path("disputes/<int:pk>/", views.dispute_detail, name="dispute"),
    path("disputes/<int:pk>/act/<str:action>/", views.dispute_act, name="act"),
    path("disputes/<int:pk>/agreement/", views.agreement_print, name="agreement_print"),
    path("disputes/<int:pk>/triage-card/", views.triage_card, name="triage_card"),
    path("roster/", views.roster, name="roster"),
    path("meetings/", views.meetings, name="meetings"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting"),
    path("meetings/<int:pk>/tasks/<int:task_id>/done/", views.meeting_task_done, name="task_done"),
    path("registers/<slug:code>/", views.register_page, name="register"),
    path("registers/<slug:code>/print/", views.register_print, name="register_print"),
    path("registers/<slug:code>/export.xlsx", views.register_export, name="register_export"),
]
