from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from .models import Grid
from .selectors import grid_list_for


@login_required
def grid_list(request):
    q = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    qs = grid_list_for(request.user, q=q, kind=kind)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "territory/grid_list.html",
        {"page": page, "q": q, "kind": kind, "kinds": Grid.Kind.choices},
    )
