from django.contrib import admin
from django.urls import include, path

from civicgrid.api.api import api

urlpatterns = [
    path("", include("civicgrid.ops.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", api.urls),
    path("", include("civicgrid.core.urls")),
    path("territory/", include("civicgrid.territory.urls")),
    path("console/audit/", include("civicgrid.audit.urls")),
    path("console/patrols/", include("civicgrid.field.screen_urls")),
    path("console/", include("civicgrid.console.urls")),
    path("analytics/", include("civicgrid.analytics.urls")),
    path("field/basedata/", include("civicgrid.basedata.mobile_urls")),
    path("field/mediation/", include("civicgrid.mediation.mobile_urls")),
    path("field/", include("civicgrid.field.urls")),
    path("", include("civicgrid.public.urls")),
    path("notifications/", include("civicgrid.notifications.urls")),
    path("files/", include("civicgrid.cases.urls")),
    path("basedata/", include("civicgrid.basedata.urls")),
    path("mediation/", include("civicgrid.mediation.urls")),
    path("", include("civicgrid.party.urls")),
    path("admin/", admin.site.urls),
]
# No /media/ pattern, not even under DEBUG: stored files leave only through the checked views of
# civicgrid/core/files.py, so runserver behaves as production does.
