from django.urls import path

from . import files

app_name = "files"

urlpatterns = [
    path("attachments/<int:pk>", files.attachment_file, name="attachment"),
    path("p/<str:token>", files.public_file, name="public"),
]
