"""The role-aware workbench: queue tiles and the selected queue, polled without touching forms."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from civicgrid.core.conf import options
from civicgrid.ops.replica import replica_reads
from civicgrid.people.access import principal_of

from .. import queries
from .common import clean_choice, conditional, fragment_etag


def poll_seconds() -> int:
    """How often the workbench fragments revalidate (option CONSOLE_POLL_SECONDS)."""
    return options().CONSOLE_POLL_SECONDS


def _scope(request) -> str:
    # A center sees the whole subtree it may act on by default; "mine" narrows to its own.
    return clean_choice(request.GET.get("scope"), ("mine", "all")) or "all"


def queue_block(user, kind: str, *, scope: str = "all", selected: str = "", now=None) -> dict:
    """Tiles with live counts for one role, plus the rows of the selected queue."""
    now = now or timezone.now()
    defs = queries.QUEUES[kind]
    keys = [q.key for q in defs]
    counts = queries.queue_counts(user, kind, scope=scope, now=now)
    if selected not in keys:
        # Open on the first queue with something in it: an empty table helps nobody.
        selected = next((k for k in keys if counts[k]), keys[0])
    tiles = [{"queue": q, "count": counts[q.key]} for q in defs]
    side = side_panel(user, kind, scope, now) if kind == "operator" else None
    return {
        "side": side,
        "kind": kind,
        "scope": scope,
        "tiles": tiles,
        "selected": selected,
        "selected_queue": next(q for q in defs if q.key == selected),
        "rows": [
            {"case": c} for c in queries.queue_cases(user, kind, selected, scope=scope, now=now)
        ],
        "now": now,
        "poll": poll_seconds(),
        "cap": queries.COUNT_CAP,
    }


def side_panel(user, kind: str, scope: str, now) -> dict:
    """Today's figures and the latest activity next to an operator's queue."""
    return {
        "today": queries.today_figures(user, queries.base_q(user, kind, scope), now=now),
        "activity": queries.recent_activity(user),
        "kind": kind,
        "scope": scope,
        "poll": poll_seconds(),
    }


def home_context(request) -> dict:
    """Everything the workbench shows for this user's roles."""
    user = principal_of(request)
    now = timezone.now()
    kinds = queries.home_kinds(user)
    blocks = []
    for kind in kinds:
        if kind == "leader":
            blocks.append(
                {
                    "kind": "leader",
                    "overviews": [
                        queries.leader_overview(user, area, now=now)
                        for area in queries.leader_areas(user)[:3]
                    ],
                    "now": now,
                    "poll": poll_seconds() * 2,
                }
            )
        else:
            selected = request.GET.get("queue", "") if kind == request.GET.get("kind", kind) else ""
            blocks.append(
                queue_block(user, kind, scope=_scope(request), selected=selected, now=now)
            )
    return {"blocks": blocks, "kinds": kinds, "now": now}


def _kind_or_404(request, kind: str) -> None:
    if kind not in queries.QUEUES or kind not in queries.home_kinds(principal_of(request)):
        raise Http404("queue")


@login_required
@require_GET
@replica_reads()
def tiles(request, kind: str):
    """The tiles of one role (polled): 304 while nothing changed."""
    _kind_or_404(request, kind)
    scope = _scope(request)
    selected = request.GET.get("queue", "")
    etag = fragment_etag(request, "tiles", kind, scope, selected)

    def build():
        now = timezone.now()
        defs = queries.QUEUES[kind]
        counts = queries.queue_counts(principal_of(request), kind, scope=scope, now=now)
        block = {
            "kind": kind,
            "scope": scope,
            "selected": selected if selected in counts else defs[0].key,
            "tiles": [{"queue": q, "count": counts[q.key]} for q in defs],
            "poll": poll_seconds(),
            "cap": queries.COUNT_CAP,
        }
        return render(request, "console/home/_tiles.html", {"block": block})

    return conditional(request, etag, build)


@login_required
@require_GET
def queue_rows(request, kind: str, key: str):
    """The rows of one queue (polled, or loaded when a tile is clicked)."""
    _kind_or_404(request, kind)
    if key not in {q.key for q in queries.QUEUES[kind]}:
        raise Http404("queue")
    scope = _scope(request)
    etag = fragment_etag(request, "rows", kind, key, scope)

    def build():
        block = queue_block(principal_of(request), kind, scope=scope, selected=key)
        return render(request, "console/home/_queue.html", {"block": block})

    return conditional(request, etag, build)


@login_required
@require_GET
def leader_panel(request):
    """The leader overview (polled)."""
    if "leader" not in queries.home_kinds(principal_of(request)):
        raise Http404("overview")
    etag = fragment_etag(request, "leader")

    def build():
        now = timezone.now()
        block = {
            "kind": "leader",
            "overviews": [
                queries.leader_overview(principal_of(request), area, now=now)
                for area in queries.leader_areas(principal_of(request))[:3]
            ],
            "now": now,
            "poll": poll_seconds() * 2,
        }
        return render(request, "console/home/_leader.html", {"block": block})

    return conditional(request, etag, build)


@login_required
@require_GET
def block(request, kind: str):
    """One role's tiles and the clicked queue (a tile click swaps this in)."""
    _kind_or_404(request, kind)
    data = queue_block(
        principal_of(request), kind, scope=_scope(request), selected=request.GET.get("queue", "")
    )
    return render(request, "console/home/_block.html", {"block": data})


@login_required
@require_GET
def side(request, kind: str):
    """Today's figures and the activity feed (polled)."""
    _kind_or_404(request, kind)
    scope = _scope(request)
    etag = fragment_etag(request, "side", kind, scope)

    def build():
        data = side_panel(principal_of(request), kind, scope, timezone.now())
        return render(request, "console/home/_side.html", {"side": data})

    return conditional(request, etag, build)
