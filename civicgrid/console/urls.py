from django.urls import path

app_name = "console"
urlpatterns: list = [
    # The operator console's pages are added here (queues, case list/detail, hotline intake, map).
]
