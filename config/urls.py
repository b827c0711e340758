from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from civicgrid.api.api import api

urlpatterns = [
    path("", include("civicgrid.ops.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", api.urls),
    path("", include("civicgrid.core.urls")),
    path("territory/", include("civicgrid.territory.urls")),
    path("console/", include("civicgrid.console.urls")),
    path("analytics/", include("civicgrid.analytics.urls")),
    path("field/", include("civicgrid.field.urls")),
    path("", include("civicgrid.public.urls")),
    path("notifications/", include("civicgrid.notifications.urls")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.views.static import serve

    urlpatterns += [path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
