from django.urls import path

from . import views

app_name = "party"
urlpatterns = [
    path("service/", views.service_request, name="service_request"),
    path("field/party/orders/", views.field_orders, name="field_orders"),
    path("field/party/orders/<int:pk>/take/", views.field_take, name="field_take"),
    path("field/party/visit/", views.field_visit, name="field_visit"),
    path("console/party/orders/", views.console_orders, name="console_orders"),
    path(
        "console/party/orders/<int:pk>/dispatch/", views.console_dispatch, name="console_dispatch"
    ),
    path("console/party/liaison/", views.compliance, name="compliance"),
    path("console/party/liaison/assign/", views.assign, name="assign"),
    path("console/party/liaison/visit/", views.console_visit, name="console_visit"),
]
