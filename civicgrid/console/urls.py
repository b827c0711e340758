from django.urls import path

from .views import cases, cohandling, directory, home, intake, maps, org, teams

app_name = "console"
urlpatterns = [
    # Workbench fragments (the page itself is the site home, core.views.home).
    path("home/block/<str:kind>/", home.block, name="home_block"),
    path("home/tiles/<str:kind>/", home.tiles, name="home_tiles"),
    path("home/queue/<str:kind>/<str:key>/", home.queue_rows, name="home_queue"),
    path("home/side/<str:kind>/", home.side, name="home_side"),
    path("home/leader/", home.leader_panel, name="home_leader"),
    # Cases
    path("cases/", cases.case_list, name="case_list"),
    path("cases/bulk-dispatch/", cases.bulk_dispatch, name="bulk_dispatch"),
    path("cases/<int:pk>/", cases.case_detail, name="case_detail"),
    path("cases/<int:pk>/act/<str:action>/", cases.case_act, name="case_act"),
    path("cases/<int:pk>/stamp/", cases.case_stamp, name="case_stamp"),
    path("cases/<int:pk>/reveal-phone/", cases.reveal_phone, name="reveal_phone"),
    path(
        "cases/<int:pk>/parts/<int:part>/<str:action>/",
        cohandling.part_action,
        name="part_act",
    ),
    path(
        "cases/<int:pk>/calls/<int:call>/<str:action>/",
        cohandling.call_action,
        name="call_act",
    ),
    path("whistles/", cohandling.whistle_board, name="whistles"),
    # Hotline intake
    path("intake/", intake.intake, name="intake"),
    path("intake/locate/", intake.intake_locate, name="intake_locate"),
    path("intake/places/", intake.intake_places, name="intake_places"),
    # Map
    path("map/", maps.map_page, name="map"),
    path("map/cases.json", maps.map_cases, name="map_cases"),
    # Directories
    path("supervision/", directory.supervision_list, name="supervision"),
    path("grids/", directory.grid_list, name="grids"),
    path("grids/<str:code>/", directory.grid_detail, name="grid_detail"),
    path("grids/<str:code>/team/", teams.team_edit, name="team_edit"),
    path("workers/", directory.worker_list, name="workers"),
    path("workers/<int:pk>/", teams.worker_detail, name="worker_detail"),
    path("workers/<int:pk>/commend/", teams.worker_commend, name="worker_commend"),
    path("trainings/", teams.training_list, name="trainings"),
    path("trainings/<int:pk>/", teams.training_detail, name="training_detail"),
    # Department tasks (下派任务) and the admission list (准入清单)
    path("tasks/", org.task_list, name="tasks"),
    path("tasks/new/", org.task_compose, name="task_compose"),
    path("tasks/<int:pk>/", org.task_board, name="task_board"),
    path("tasks/<int:pk>/cancel/<int:task_pk>/", org.task_cancel, name="task_cancel"),
    path("admission/", org.admission_list, name="admission"),
    path("admission/<int:pk>/", org.admission_detail, name="admission_detail"),
    path("admission/<int:pk>/act/<str:action>/", org.admission_act, name="admission_act"),
]
