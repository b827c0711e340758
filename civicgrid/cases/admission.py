"""The admission list's life cycle (准入清单的准入与退出) on the workflow engine.

A department's handler proposes an item (``propose``: item, legal basis, why the grid, expected
workload); the city or district center — an operator or administrator whose assignment is at
city or district level and covers the department's area (the 政法委 / 综治中心 that keeps the
list) — approves it (``approve``) or refuses it with a reason (``refuse``); an admitted item can
be retired (``retire``, 退出) by that center or by the department itself. Every step is a row of
``AdmissionItemAction`` (actor, role, from, to, reason, time), so the list's history is the
engine's log. Only admitted items pass the firewall (``gridtasks.admitted_item``).
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.core.errors import DomainError, Forbidden, NotFound
from civicgrid.core.workflow import Action, Input, Step, Workflow
from civicgrid.people.access import Principal
from civicgrid.people.models import Department, Role
from civicgrid.territory.codes import COUNTY, PREFIX_LEN

from .models import AdmissionItem, AdmissionItemAction, AdmissionState

A = AdmissionState
DEPARTMENT, CENTER = "department", "center"
LABELS = {DEPARTMENT: gettext_lazy("Proposing department"), CENTER: gettext_lazy("List keeper")}
# Centers at city or district level keep the lists (a township center does not).
KEEPER_PREFIX_MAX = PREFIX_LEN[COUNTY]


def is_keeper(principal: Principal, department: Department) -> bool:
    """An operator or administrator at city/district level over the department's area."""
    if principal.is_superuser:
        return True
    code = department.area.code
    return any(
        g.role in (Role.OPERATOR, Role.ADMIN)
        and len(g.prefix) <= KEEPER_PREFIX_MAX
        and code.startswith(g.prefix)
        for g in principal.grants
    )


def is_department_staff(principal: Principal, department_id: int) -> bool:
    if principal.is_superuser:
        return True
    return any(d == department_id for d, _p in principal.handler_pairs)


def admission_capacities(user, item: AdmissionItem) -> set[str]:
    p = Principal.of(user)
    if not p.is_authenticated:
        return set()
    caps = set()
    if is_department_staff(p, item.department_id):
        caps.add(DEPARTMENT)
    if is_keeper(p, item.department):
        caps.add(CENTER)
    return caps


def admission_can_view(user, item: AdmissionItem) -> bool:
    """Admitted and retired items are public; proposals and refusals only to the two sides."""
    return item.state in (A.ADMITTED, A.RETIRED) or bool(admission_capacities(user, item))


ADMISSION = Workflow(
    name="admission",
    model=AdmissionItem,
    log_model=AdmissionItemAction,
    log_fk="item",
    capacities=admission_capacities,
    capacity_labels=LABELS,
    updated_field=None,
    noun=gettext_lazy("admission item"),
    can_view=admission_can_view,
    state_label=lambda item, state: str(AdmissionState(state).label),
)
# fmt: off
ADMISSION.add(
    Action("propose", (), A.PROPOSED, (DEPARTMENT,), creation=True, endpoint="none",
           inputs=(Input("name", "text", True, gettext_lazy("Item"), max_length=200),
                   Input("legal_basis", "textarea", True, gettext_lazy("Legal basis")),
                   Input("why_grid", "textarea", True, gettext_lazy("Why the grid")),
                   Input("workload", "text", True, gettext_lazy("Expected workload"),
                         max_length=200)),
           label=gettext_lazy("Propose an item")),
    Action("approve", (A.PROPOSED,), A.ADMITTED, (CENTER,), style="primary", endpoint="none",
           inputs=(Input("reason", "textarea", False, gettext_lazy("Remarks")),),
           label=gettext_lazy("Admit")),
    Action("refuse", (A.PROPOSED,), A.REFUSED, (CENTER,), style="danger", endpoint="none",
           inputs=(Input("reason", "textarea", True, gettext_lazy("Reason")),),
           label=gettext_lazy("Refuse")),
    Action("retire", (A.ADMITTED,), A.RETIRED, (CENTER, DEPARTMENT), style="danger",
           endpoint="none", inputs=(Input("reason", "textarea", True, gettext_lazy("Reason")),),
           label=gettext_lazy("Retire (退出)")),
)
# fmt: on


def _reason(step: Step) -> None:
    step.note = (step.inputs.get("reason") or "").strip()[:2000]


@ADMISSION.handler("approve")
def plan_approve(step: Step) -> None:
    _reason(step)
    step.changes["decided_at"] = step.now


@ADMISSION.handler("refuse")
def plan_refuse(step: Step) -> None:
    _reason(step)
    step.changes["decided_at"] = step.now


@ADMISSION.handler("retire")
def plan_retire(step: Step) -> None:
    _reason(step)
    step.changes["decided_at"] = step.now


CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,29}$")


def _next_code(department: Department) -> str:
    prefix = f"{department.code}-"
    used = set(AdmissionItem.objects.filter(department=department).values_list("code", flat=True))
    n = len(used) + 1
    while f"{prefix}{n:02d}" in used:
        n += 1
    return f"{prefix}{n:02d}"[:30]


def admission_propose(
    *,
    actor,
    department: Department,
    name: str,
    legal_basis: str,
    why_grid: str,
    workload: str,
    item_class: str = "",
    code: str = "",
) -> AdmissionItem:
    """A department's handler proposes an item for its admission list."""
    principal = Principal.of(actor)
    if not is_department_staff(principal, department.pk):
        raise Forbidden(
            _("Only staff of %(d)s may propose items for its admission list.")
            % {"d": department.name},
            code="permission_denied",
            field="department",
        )
    inputs = {
        "name": (name or "").strip(),
        "legal_basis": (legal_basis or "").strip(),
        "why_grid": (why_grid or "").strip(),
        "workload": (workload or "").strip(),
    }
    creation = ADMISSION.creation()
    ADMISSION.check_required(creation, inputs)
    for i in creation.inputs:
        if i.max_length and len(inputs[i.name]) > i.max_length:
            raise DomainError(
                "too_long",
                _("%(field)s is longer than %(n)s characters.")
                % {"field": i.name, "n": i.max_length},
                field=i.name,
            )
    code = (code or "").strip()
    if code and not CODE_RE.match(code):
        raise DomainError(
            "invalid",
            _("The item code may hold letters, digits, “-” and “_” (at most 30)."),
            field="code",
        )
    item = AdmissionItem(
        department=department,
        code=code or _next_code(department),
        name=inputs["name"],
        item_class=(item_class or "").strip()[:50],
        legal_basis=inputs["legal_basis"],
        why_grid=inputs["why_grid"],
        workload=inputs["workload"],
        proposed_by=actor,
    )
    step = Step(
        obj=item,
        actor=actor,
        role=DEPARTMENT,
        inputs=inputs,
        now=timezone.now(),
        transition=creation,
        workflow=ADMISSION,
        note=inputs["why_grid"][:2000],
        data={"code": item.code, "workload": inputs["workload"]},
    )
    item.created_at = step.now
    try:
        with transaction.atomic():
            ADMISSION.create(step)
    except IntegrityError:
        raise DomainError(
            "duplicate",
            _("%(d)s already has an item with the code %(c)s.")
            % {"d": department.name, "c": item.code},
            field="code",
        ) from None
    return item


def admission_act(
    *, item: AdmissionItem, action: str, actor, reason: str = "", expected_version=None
):
    """Approve, refuse or retire ``item`` (the engine checks state, capacity and version)."""
    return ADMISSION.act(
        obj=item,
        action=action,
        actor=actor,
        expected_version=expected_version,
        inputs={"reason": reason},
    )


# --- selectors -----------------------------------------------------------------------------


def admitted_items() -> QuerySet[AdmissionItem]:
    """The current list (public): admitted items with their departments."""
    return (
        AdmissionItem.objects.filter(state=A.ADMITTED)
        .select_related("department", "department__area")
        .defer("department__area__boundary")
        .order_by("department__area__code", "department__code", "code")
    )


def items_for(principal: Principal) -> QuerySet[AdmissionItem]:
    """Items a staff member may manage: their departments' items, and as list keeper every
    item of the departments in their keeper scope. Superusers: all."""
    qs = AdmissionItem.objects.select_related("department", "department__area").defer(
        "department__area__boundary"
    )
    if principal.is_superuser:
        return qs
    q = Q(pk__in=[])
    depts = {d for d, _p in principal.handler_pairs}
    if depts:
        q |= Q(department_id__in=depts)
    for g in principal.grants:
        if g.role in (Role.OPERATOR, Role.ADMIN) and len(g.prefix) <= KEEPER_PREFIX_MAX:
            q |= Q(department__area__code__startswith=g.prefix)
    return qs.filter(q)


def item_get_for(principal: Principal, pk: int) -> AdmissionItem:
    item = items_for(principal).filter(pk=pk).first()
    if item is None:
        raise NotFound(_("admission item"))
    return item


def departments_for(principal: Principal) -> list[Department]:
    """Departments the principal proposes for (handler assignments)."""
    qs = Department.objects.filter(is_active=True).select_related("area")
    if not principal.is_superuser:
        qs = qs.filter(pk__in={d for d, _p in principal.handler_pairs})
    return list(qs.defer("area__boundary").order_by("code"))
