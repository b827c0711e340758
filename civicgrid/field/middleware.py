"""Mark the field app's signed-in pages with their principal, for the service worker's cache."""

from __future__ import annotations

from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.crypto import salted_hmac

HEADER = "X-CG-Principal"


def principal_of(user) -> str:
    """An opaque, stable id of ``user`` (no user id on the wire), unique per secret key."""
    return salted_hmac("civicgrid.field.sw-principal", str(user.pk)).hexdigest()[:24]


class FieldPrincipalMiddleware:
    """Add ``X-CG-Principal`` to HTML pages of /field/ served to a signed-in user.

    The service worker stores a page only when it carries the header, in a cache of that
    principal alone, and wipes every stored page when another principal shows up (see sw.js).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = None

    def __call__(self, request):
        response = self.get_response(request)
        if self.prefix is None:
            self.prefix = reverse("field:home")
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and request.path.startswith(self.prefix)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            response[HEADER] = principal_of(user)
            patch_vary_headers(response, ["Cookie"])
        return response
