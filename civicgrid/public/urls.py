from django.urls import path

app_name = "public"
urlpatterns: list = [
    # Pages of this app are added here.
]
