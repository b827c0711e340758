app_name = "analytics"
urlpatterns: list = [
    # Pages of this app are added here.
]
