from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render


@login_required
def home(request):
    """The role-aware workbench (the operator console's queues, a handler's, a leader's)."""
    from civicgrid.console.views.home import home_context

    return render(request, "core/home.html", home_context(request))


def healthz(request):
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
