"""Grid teams and workers: the team editor, the worker profile (selection checks, training,
commendations) and training sessions. Writes go through ``civicgrid.people.teams``; the grid and
the worker are fetched through the principal's scope (out of scope: 404)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from civicgrid.cases.models import GridTask, GridTaskState
from civicgrid.core.errors import DomainError, Forbidden
from civicgrid.people import teams
from civicgrid.people.access import principal_of
from civicgrid.people.models import (
    Commendation,
    CommendationKind,
    GridMember,
    TrainingAttendance,
    User,
    WorkerType,
)
from civicgrid.people.scoping import scope_q
from civicgrid.territory.models import MicroGrid
from civicgrid.territory.selectors import grid_get_for

MEMBER_FIELDS = ("user", "worker_type", "micro_grid", "work_phone", "since", "is_leader")


def _team(grid):
    return list(
        GridMember.objects.filter(grid=grid)
        .select_related("user", "micro_grid")
        .order_by("-is_leader", "worker_type", "user__full_name")
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_edit(request, code: str):
    principal = principal_of(request)
    grid = grid_get_for(principal, code)  # out of scope: 404
    if not teams.can_edit_team(principal, grid):
        raise Forbidden(
            _("Only the center's operators over this grid may edit its team."),
            code="permission_denied",
        )
    errors: dict[str, str] = {}
    values: dict = {}
    status = 200
    if request.method == "POST":
        values = {k: (request.POST.get(k) or "").strip() for k in MEMBER_FIELDS}
        data = {**values, "is_leader": bool(request.POST.get("is_leader"))}
        try:
            member_pk = request.POST.get("member")
            if member_pk:
                member = teams.member_get_for_edit(principal, grid, int(member_pk))
                if request.POST.get("remove"):
                    teams.member_remove(actor=request.user, member=member)
                    messages.success(request, _("%(u)s is off the team.") % {"u": member.user})
                else:
                    teams.member_update(actor=request.user, member=member, data=data)
                    for w in teams.selection_warnings(member):
                        messages.warning(request, w)
            else:
                uid = values["user"]
                if not uid.isdigit():
                    raise DomainError("required", _("Choose a worker."), field="user")
                member = teams.member_add(actor=request.user, grid=grid, user=int(uid), data=data)
                for w in teams.selection_warnings(member):
                    messages.warning(request, w)
        except DomainError as exc:
            errors[exc.field or "all"] = exc.message
            status = 400
        except ValueError:
            raise Http404("member") from None
        else:
            return redirect("console:team_edit", code=grid.code)
    members = _team(grid)
    return render(
        request,
        "console/team_edit.html",
        {
            "grid": grid,
            "rows": [{"m": m, "warnings": teams.selection_warnings(m)} for m in members],
            "team_warnings": teams.team_warnings(grid, members),
            "candidates": list(teams.candidates_for(principal, grid)[:300]),
            "micro": list(MicroGrid.objects.filter(grid=grid).defer("boundary").order_by("code")),
            "types": WorkerType.choices,
            "values": values,
            "errors": errors,
        },
        status=status,
    )


def _worker_or_404(request, pk: int) -> User:
    principal = principal_of(request)
    member = (
        GridMember.objects.filter(scope_q(principal, "grid__code"), user_id=pk)
        .select_related("user")
        .first()
    )
    if member is None:
        raise Http404("worker")
    return member.user


@login_required
def worker_detail(request, pk: int):
    principal = principal_of(request)
    user = _worker_or_404(request, pk)
    memberships = list(
        GridMember.objects.filter(scope_q(principal, "grid__code"), user=user)
        .select_related("grid", "grid__area", "micro_grid")
        .defer("grid__boundary", "grid__area__boundary")
    )
    areas = list(teams.areas_for_edit(principal).filter(level__lte=3)[:200])
    commendable = [a for a in areas if any(m.grid.code.startswith(a.prefix) for m in memberships)]
    return render(
        request,
        "console/worker_detail.html",
        {
            "worker": user,
            "rows": [{"m": m, "warnings": teams.selection_warnings(m)} for m in memberships],
            "trainings": list(
                TrainingAttendance.objects.filter(user=user)
                .select_related("session", "session__area")
                .order_by("-session__held_at")[:20]
            ),
            "commendations": list(
                Commendation.objects.filter(user=user).select_related("area", "awarded_by")[:20]
            ),
            "tasks": {
                "done": GridTask.objects.filter(worker=user, state=GridTaskState.DONE).count(),
                "open": GridTask.objects.filter(worker=user, state=GridTaskState.OPEN).count(),
            },
            "kinds": CommendationKind.choices,
            "commend_areas": commendable,
            "values": {},
            "errors": {},
        },
    )


@login_required
@require_POST
def worker_commend(request, pk: int):
    principal = principal_of(request)
    user = _worker_or_404(request, pk)
    area = teams.areas_for_edit(principal).filter(code=request.POST.get("area", "")).first()
    try:
        if area is None:
            raise DomainError("required", _("Choose an area."), field="area")
        teams.commend(
            actor=request.user,
            user=user,
            kind=request.POST.get("kind", ""),
            period=request.POST.get("period", ""),
            reason=request.POST.get("reason", ""),
            area=area,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Commendation recorded for %(u)s.") % {"u": user})
    return redirect("console:worker_detail", pk=user.pk)


@login_required
@require_http_methods(["GET", "POST"])
def training_list(request):
    principal = principal_of(request)
    areas = list(teams.areas_for_edit(principal).filter(level__lte=3)[:200])
    if not areas:
        raise Http404("training")
    errors: dict = {}
    values: dict = {}
    status = 200
    if request.method == "POST":
        values = {
            k: (request.POST.get(k) or "").strip()
            for k in ("area", "title", "held_at", "place", "hours", "topic")
        }
        area = next((a for a in areas if a.code == values["area"]), None)
        try:
            if area is None:
                raise DomainError("required", _("Choose an area."), field="area")
            session = teams.training_create(
                actor=request.user,
                area=area,
                title=values["title"],
                held_at=values["held_at"] or None,
                place=values["place"],
                hours=values["hours"] or 2,
                topic=values["topic"],
            )
        except DomainError as exc:
            errors[exc.field or "all"] = exc.message
            status = 400
        else:
            return redirect("console:training_detail", pk=session.pk)
    sessions = list(teams.trainings_for(principal)[:100])
    return render(
        request,
        "console/trainings.html",
        {"sessions": sessions, "areas": areas, "values": values, "errors": errors},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def training_detail(request, pk: int):
    principal = principal_of(request)
    session = teams.trainings_for(principal).filter(pk=pk).first()
    if session is None:
        raise Http404("training")
    if request.method == "POST":
        n = teams.attendance_mark(
            actor=request.user, session=session, attended_ids=request.POST.getlist("attended")
        )
        messages.success(request, _("Attendance saved: %(n)s present.") % {"n": n})
        return redirect("console:training_detail", pk=session.pk)
    rows = list(session.attendance.select_related("user").order_by("user__full_name"))
    return render(
        request,
        "console/training_detail.html",
        {"session": session, "rows": rows, "present": sum(r.attended for r in rows)},
    )
