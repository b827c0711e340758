from django.urls import path

app_name = "field"
urlpatterns: list = [
    # Pages of this app are added here.
]
