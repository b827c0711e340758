"""Console pages for base data: roster, records with history, grid profile, tags, import/export.

ID numbers and phones are masked everywhere here; the one unmasked view is ``person_reveal``,
which needs the permission and a reason and is logged.
"""

from __future__ import annotations

import functools

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civicgrid.core.errors import DomainError, NotFound
from civicgrid.people.scoping import has_role
from civicgrid.territory.selectors import grid_get_for

from . import importjobs, selectors, services
from .models import Person


def not_found_as_404(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from None

    return wrapper


def _area(value: str | None) -> str:
    """A grid or area code prefix from a filter (trailing zeros of an area code dropped)."""
    v = (value or "").strip()[:17]
    if not v.isdigit():
        return ""
    if len(v) == 12:
        from civicgrid.territory.codes import area_prefix

        try:
            return area_prefix(v)
        except DomainError:
            return
    return v


def person_filters(request) -> dict[str, str]:
    g = request.GET
    return {
        "area": _area(g.get("area")),
        "q": (g.get("q") or "").strip()[:50],
        "id_number": (g.get("id_number") or "").strip()[:20],
        "address": (g.get("address") or "").strip()[:100],
        "tag": (g.get("tag") or "").strip()[:30],
        "category": (g.get("category") or "").strip()[:12],
    }


@login_required
@require_GET
def roster(request):
    f = person_filters(request)
    qs = selectors.person_list_for(request.user, **f)
    page = Paginator(qs, selectors.ROSTER_PAGE).get_page(request.GET.get("page"))
    tags = selectors.tags_for(request.user, page.object_list)
    rows = [{"p": p, "tags": tags.get(p.pk, [])} for p in page]
    return render(
        request,
        "basedata/roster.html",
        {
            "f": f,
            "page": page,
            "rows": rows,
            "kinds": selectors.visible_kinds(request.user),
            "categories": Person.Category.choices,
        },
    )


@login_required
@require_GET
@not_found_as_404
def person_detail(request, pk: int):
    person = selectors.person_get_for(request.user, pk)
    return render(
        request,
        "basedata/person_detail.html",
        {
            "p": person,
            "tags": selectors.tags_for(request.user, [person])[person.pk],
            "membership": getattr(person, "membership", None)
            if hasattr(person, "membership")
            else None,
            "history": selectors.history_for("person", person.pk),
            "visits": person.visits.select_related("worker", "case")[:20],
            "can_reveal": request.user.has_perm("basedata.reveal_personal_data"),
            **_linked(request, "person", person.pk),
        },
    )


@login_required
@require_POST
@not_found_as_404
def person_reveal(request, pk: int):
    person = selectors.person_get_for(request.user, pk)
    try:
        plain = services.person_reveal(
            person=person,
            actor=request.user,
            reason=request.POST.get("reason", ""),
            ip=request.META.get("REMOTE_ADDR"),
        )
    except DomainError as exc:
        return render(
            request,
            "basedata/_reveal.html",
            {"p": person, "error": exc.message},
            status=exc.status if exc.status != 400 else 200,
        )
    return render(request, "basedata/_reveal.html", {"p": person, "plain": plain})


@login_required
@require_GET
@not_found_as_404
def grid_profile(request, code: str):
    grid = grid_get_for(request.user, code)
    return render(
        request,
        "basedata/grid_profile.html",
        {
            "grid": grid,
            "profile": selectors.grid_profile(request.user, grid),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_GET
def tag_list(request):
    kind = (request.GET.get("kind") or "").strip()[:30]
    area = _area(request.GET.get("area"))
    overdue = request.GET.get("overdue") == "1"
    qs = selectors.tag_list_for(request.user, kind=kind, area=area)
    if overdue:
        qs = qs.filter(next_visit_due__lt=timezone.localdate())
    page = Paginator(qs, selectors.ROSTER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "basedata/tags.html",
        {
            "page": page,
            "kind": kind,
            "area": area,
            "overdue": overdue,
            "kinds": selectors.visible_kinds(request.user),
            "today": timezone.localdate(),
        },
    )


ENTITY_LABELS = {
    "house": ("Houses", ["address", "building", "unit", "room", "use"]),
    "organisation": ("Organisations", ["name", "uscc", "kind", "staff_count", "has_party_org"]),
    "place": ("Places", ["name", "kind", "check_in_days"]),
    "riskpoint": ("Risk points", ["name", "kind", "level", "check_in_days"]),
    "thing": ("Things", ["code", "kind", "state", "owner_department"]),
}


def _cells(obj, fields):
    out = []
    for f in fields:
        disp = getattr(obj, f"get_{f}_display", None)
        v = disp() if disp else getattr(obj, f)
        out.append("✓" if v is True else "—" if v in (False, None, "") else v)
    return out


@login_required
@require_GET
def record_list(request, entity: str):
    if entity not in selectors.MODELS:
        raise Http404(entity)
    title, fields = ENTITY_LABELS[entity]
    qs = selectors.record_list_for(
        request.user,
        entity,
        area=_area(request.GET.get("area")),
        q=(request.GET.get("q") or "").strip()[:50],
    )
    page = Paginator(qs, selectors.ROSTER_PAGE).get_page(request.GET.get("page"))
    model = selectors.MODELS[entity]
    return render(
        request,
        "basedata/records.html",
        {
            "entity": entity,
            "title": model._meta.verbose_name_plural,
            "page": page,
            "headers": [model._meta.get_field(f).verbose_name for f in fields],
            "rows": [(o, _cells(o, fields)) for o in page],
            "q": request.GET.get("q", ""),
            "area": request.GET.get("area", ""),
        },
    )


@login_required
@require_GET
@not_found_as_404
def record_detail(request, entity: str, pk: int):
    if entity not in selectors.MODELS:
        raise Http404(entity)
    obj = selectors.record_get_for(request.user, entity, pk)
    model = selectors.MODELS[entity]
    fields = [f for f in model._meta.fields if f.name not in ("id", "scope_code", "grid")]
    extra = {}
    if entity == "house":
        residents = list(selectors.person_list_for(request.user).filter(house=obj)[:100])
        extra = {
            "residents": residents,
            "tenants": list(obj.tenants.all()[:100]),
            "households": list(obj.households.select_related("head")[:20]),
        }
    if entity in ("place", "riskpoint"):
        from civicgrid.people.scoping import in_scope

        from . import keyplaces

        extra = {
            "checkins": keyplaces.checkins_for(obj),
            "can_enable": in_scope(request.user, obj.scope_code, roles=services.WRITE_ROLES),
        }
    return render(
        request,
        "basedata/record_detail.html",
        {
            "entity": entity,
            "obj": obj,
            "title": model._meta.verbose_name,
            "plural": model._meta.verbose_name_plural,
            "fields": [(f.verbose_name, _cells(obj, [f.name])[0]) for f in fields],
            "history": selectors.history_for(entity, obj.pk),
            **_linked(request, entity, obj.pk),
            **extra,
        },
    )


def _can_import(user) -> bool:
    from civicgrid.people.models import Role

    return has_role(user, Role.GRID_WORKER, Role.GRID_CHIEF, Role.OPERATOR, Role.ADMIN)


@login_required
@require_GET
def person_export(request):
    from . import excel

    qs = selectors.person_list_for(request.user, **person_filters(request))
    resp = HttpResponse(
        excel.export_persons(request.user, qs),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    resp["Content-Disposition"] = 'attachment; filename="persons.xlsx"'
    return resp


@login_required
@require_GET
def import_template(request):
    from . import excel

    resp = HttpResponse(
        excel.person_template(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    resp["Content-Disposition"] = 'attachment; filename="persons-template.xlsx"'
    return resp


@login_required
@require_http_methods(["GET", "POST"])
def person_import(request):
    from . import excel

    if not _can_import(request.user):
        raise Http404("import")
    ctx: dict = {}
    if request.method == "POST":
        upload = request.FILES.get("file")
        commit = request.POST.get("commit") == "1"
        if upload is None:
            ctx["error"] = "file"
        elif importjobs.is_large("person", upload):
            return _queued(request, "person", upload, commit)
        else:
            ctx["report"] = excel.import_persons(upload, actor=request.user, commit=commit)
    ctx.update(_jobs_ctx(request))
    return render(request, "basedata/import.html", ctx)


def _jobs_ctx(request) -> dict:
    from civicgrid.core.conf import options

    return {
        "jobs": importjobs.import_jobs_recent_for(request.user),
        "inline_rows": options().IMPORT_INLINE_ROWS,
    }


def _queued(request, entity: str, upload, commit: bool):
    """A file too large for the request: queue it and show its job page."""
    from django.shortcuts import redirect

    job = importjobs.import_job_create(
        entity=entity, upload=upload, commit=commit, actor=request.user
    )
    return redirect("basedata:import_job", job.pk)


@login_required
@require_GET
@not_found_as_404
def import_job(request, pk: int):
    """A queued import: its progress bar (polling ``import_job_status``), then its report."""
    job = importjobs.import_job_get_for(request.user, pk)
    return render(
        request,
        "basedata/import_job.html",
        {
            "job": job,
            "st": importjobs.status(job),
            "report": importjobs.report_of(job),
            **_jobs_ctx(request),
        },
    )


@login_required
@require_GET
@not_found_as_404
def import_job_status(request, pk: int):
    from django.http import JsonResponse

    job = importjobs.import_job_get_for(request.user, pk)
    response = JsonResponse(importjobs.status(job))
    response["Cache-Control"] = "private, no-cache"
    return response


# --- case links -------------------------------------------------------------------------------


def _ref_pk(entity: str, ref: str) -> int:
    """A record number, or for a person also a full ID number (exact, through the blind index)."""
    ref = (ref or "").strip()
    if ref.isdigit() and len(ref) <= 12:
        return int(ref)
    if entity == "person" and ref:
        person = services.person_find(ref)
        if person is not None:
            return person.pk
    raise NotFound(entity)


@login_required
@require_POST
@not_found_as_404
def case_link_add(request, case_id: int):
    from django.contrib import messages
    from django.shortcuts import redirect

    from civicgrid.cases.selectors import case_get_for
    from civicgrid.people.access import principal_of

    from . import fieldwork

    case = case_get_for(principal_of(request), case_id)
    entity = request.POST.get("entity", "")
    try:
        fieldwork.case_link_add(
            case=case,
            entity=entity,
            object_id=_ref_pk(entity, request.POST.get("ref", "")),
            actor=request.user,
        )
    except NotFound:
        messages.error(request, _("No such record in your scope."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("console:case_detail", args=[case.pk]) + "#basedata-links")


@login_required
@require_POST
@not_found_as_404
def case_link_delete(request, pk: int):
    from django.shortcuts import redirect

    from civicgrid.people.access import principal_of

    from . import fieldwork
    from .models import CaseLink

    principal = principal_of(request)
    link = CaseLink.objects.select_related("case").filter(pk=pk).first()
    if link is None or not principal.can_view(link.case):
        raise NotFound("link")
    fieldwork.case_link_remove(link=link, actor=request.user)
    return redirect(reverse("console:case_detail", args=[link.case_id]) + "#basedata-links")


@login_required
@require_POST
@not_found_as_404
def record_link(request, entity: str, pk: int):
    """Link this record to a case given by its tracking code (from the record's page)."""
    from django.contrib import messages
    from django.shortcuts import redirect

    from civicgrid.cases.selectors import case_get_for
    from civicgrid.people.access import principal_of

    from . import fieldwork

    principal = principal_of(request)
    fieldwork.record_for(principal, entity, pk)  # 404 when out of scope
    code = (request.POST.get("case") or "").strip()
    try:
        if not code or code.isdigit():
            raise NotFound("case")  # by tracking code only: ids are not shown to users
        case = case_get_for(principal, code)
        fieldwork.case_link_add(case=case, entity=entity, object_id=pk, actor=request.user)
    except NotFound:
        messages.error(request, _("No case with this tracking code in your scope."))
    except DomainError as exc:
        messages.error(request, exc.message)
    target = (
        reverse("basedata:person_detail", args=[pk])
        if entity == "person"
        else reverse("basedata:record_detail", args=[entity, pk])
    )
    return redirect(target + "#linked-cases")


def _linked(request, entity: str, pk: int) -> dict:
    from civicgrid.people.access import principal_of

    from . import fieldwork

    principal = principal_of(request)
    return {
        "linked_cases": list(fieldwork.cases_for_record(principal, entity, pk)[:50]),
        "link_entity": entity if entity in fieldwork.ENTITY_SELECTOR else "",
        "obj_pk": pk,
    }


@login_required
@require_GET
@not_found_as_404
def visit_photo(request, pk: int):
    """A visit's photo, for those who may see the visited person or house."""
    from civicgrid.core.files import serve_file

    from .models import Visit

    v = Visit.objects.filter(selectors.scope_q(request.user, "scope_code"), pk=pk).first()
    if v is None or not v.photo:
        raise NotFound("photo")
    ctype = "image/png" if v.photo.name.endswith(".png") else "image/jpeg"
    return serve_file(request, v.photo, content_type=ctype)


@login_required
@require_GET
def map_points(request):
    """Base-data records in a bounding box for the console map's layer (scoped JSON)."""
    from django.http import JsonResponse

    from civicgrid.people.access import principal_of

    from . import maplayer

    try:
        bbox = maplayer.parse_bbox(request.GET.get("bbox"))
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=400)
    layers = [x for x in (request.GET.get("layers") or "").split(",") if x in maplayer.LAYERS]
    response = JsonResponse(maplayer.points(principal_of(request), bbox, layers))
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
@require_POST
@not_found_as_404
def record_checkins_enable(request, entity: str, pk: int):
    """Give a place or risk point a check-in point in the field app."""
    from django.contrib import messages
    from django.shortcuts import redirect

    from . import keyplaces

    if entity not in ("place", "riskpoint"):
        raise Http404(entity)
    obj = selectors.record_get_for(request.user, entity, pk)
    try:
        keyplaces.checkins_enable(record=obj, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("basedata:record_detail", args=[entity, pk]) + "#checkins")


@login_required
@require_GET
def records_template(request, entity: str):
    from . import excel_records

    if entity not in excel_records.SPECS:
        raise Http404(entity)
    resp = HttpResponse(
        excel_records.template(entity),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    resp["Content-Disposition"] = f'attachment; filename="{entity}-template.xlsx"'
    return resp


@login_required
@require_http_methods(["GET", "POST"])
def records_import(request, entity: str):
    """Excel import of houses, organisations, places, risk points or things (check, then import)."""
    from . import excel_records

    if entity not in excel_records.SPECS or not _can_import(request.user):
        raise Http404("import")
    ctx: dict = {
        "entity": entity,
        "title": excel_records.SPECS[entity][0],
    }
    if request.method == "POST":
        upload = request.FILES.get("file")
        commit = request.POST.get("commit") == "1"
        if upload is None:
            ctx["error"] = "file"
        elif importjobs.is_large(entity, upload):
            return _queued(request, entity, upload, commit)
        else:
            ctx["report"] = excel_records.import_records(
                entity, upload, actor=request.user, commit=commit
            )
    ctx.update(_jobs_ctx(request))
    return render(request, "basedata/import_records.html", ctx)
