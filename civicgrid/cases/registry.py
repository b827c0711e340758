"""The case workflow's action table: every case action declared once.

Each row says from which states an action may run, the state it leads to, which capacities
may run it, its typed inputs (name, kind, required, label, help), its place and style in the
console and its API summary. From these rows come the API endpoints and their input schemas
(``cases/api.py``), the console action forms (``console/forms.py``), the field app's
allow-list (``field/services.py``) and the table in docs/cases.md (``manage.py
cases_docs --write``; ``tests/test_docs.py`` keeps the doc equal to the table). The behaviour
of each action beyond the table is its handler in ``handlers.py``.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy

from civicgrid.core.workflow import Action, Input, Workflow

from .models import OPEN_STATES, Case, CaseAction, Flow, Source, State

S = State
OPEN = tuple(OPEN_STATES)
ANY = tuple(State)
OPERATOR, HANDLER, ASSIGNEE = "operator", "handler", "assignee"
GRID_WORKER, GRID_CHIEF, LEADER = "grid_worker", "grid_chief", "leader"
REPORTER, SYSTEM = "reporter", "system"
CO_HANDLER, CALLED = "co_handler", "called"  # 协办 department; department called by a whistle
CAPACITIES = (
    OPERATOR,
    HANDLER,
    ASSIGNEE,
    GRID_WORKER,
    GRID_CHIEF,
    LEADER,
    REPORTER,
    SYSTEM,
    CO_HANDLER,
    CALLED,
)
CAPACITY_LABELS = {
    OPERATOR: gettext_lazy("Operator"),
    HANDLER: gettext_lazy("Handler"),
    ASSIGNEE: gettext_lazy("Assigned worker"),
    GRID_WORKER: gettext_lazy("Grid worker"),
    GRID_CHIEF: gettext_lazy("Grid chief"),
    LEADER: gettext_lazy("Leader"),
    REPORTER: gettext_lazy("Reporter"),
    SYSTEM: gettext_lazy("System"),
    CO_HANDLER: gettext_lazy("Co-department handler"),
    CALLED: gettext_lazy("Called department"),
    "citizen": gettext_lazy("Citizen"),
    "anonymous": gettext_lazy("Anonymous"),
}
REOPEN_WINDOW = dt.timedelta(days=30)
STAFF = (OPERATOR, HANDLER, ASSIGNEE, GRID_WORKER, GRID_CHIEF, LEADER, CO_HANDLER, CALLED)
VERIFIERS = (OPERATOR, GRID_WORKER, GRID_CHIEF)
DOERS = (HANDLER, ASSIGNEE)
# Those who act on a case (attach files to it); a leader only watches and supervises.
ACTORS = (OPERATOR, HANDLER, ASSIGNEE, GRID_WORKER, GRID_CHIEF, CO_HANDLER, CALLED)
# Reports filed by staff in their own name: no citizen stands behind them to rate the result.
STAFF_SOURCES = (Source.GRID_WORKER, Source.PATROL, Source.DEPARTMENT)
# Reports a citizen made themselves (signed in or by phone): only these carry a citizen rating.
CITIZEN_SOURCES = (Source.CITIZEN, Source.API, Source.ONE_KEY)
TEXT = 4000


def _state_label(case, state: str) -> str:
    from .engine import state_label

    return state_label(state, getattr(case, "flow", "case"))


def _capacities(user, case) -> set[str]:
    from .engine import capacities

    return capacities(user, case)


def _can_view(user, case) -> bool:
    from .engine import can_view

    return can_view(user, case)


def _answer_supervisions(step, row) -> None:
    if step.role in (HANDLER, ASSIGNEE):
        from .models import Supervision

        # Any move by the doer after a supervision counts as an answer to it.
        Supervision.objects.filter(case=step.obj, answered_at__isnull=True).update(
            answered_at=step.now
        )


CASES = Workflow(
    name="case",
    model=Case,
    log_model=CaseAction,
    log_fk="case",
    capacities=_capacities,
    capacity_labels=CAPACITY_LABELS,
    handlers="civicgrid.cases.handlers",
    noun=gettext_lazy("case"),
    can_view=_can_view,
    state_label=_state_label,
    on_commit_row=_answer_supervisions,
)

# --- guards: cheap preconditions, so offered buttons do not fail on obvious grounds ----------


def _unrated_citizen_report(case, caps, user) -> bool:
    return case.satisfaction is None and case.source in CITIZEN_SOURCES


def _callback_possible(case, caps, user) -> bool:
    return case.reporter_id is None and case.source not in STAFF_SOURCES


def _reopenable(case, caps, user) -> bool:
    return bool(case.closed_at) and timezone.now() - case.closed_at <= REOPEN_WINDOW


def _self_closable(case, caps, user) -> bool:
    return case.category.self_closable


def _may_whistle(case, caps, user) -> bool:
    from civicgrid.people.access import Principal

    return Principal.of(user).blows_whistle(case)


def _operator_or_service_order(case, caps, user) -> bool:
    # 网格接单: the grid's workers may take a service order; a case is filed by an operator.
    return OPERATOR in caps or case.flow == Flow.SERVICE


def _not_own_result(case, caps, user) -> bool:
    from .handlers import submitted_by

    return submitted_by(case) != getattr(user, "pk", None)


# --- inputs used by several actions ----------------------------------------------------------

NOTE = Input("note", "textarea", False, gettext_lazy("Note"), max_length=TEXT)
REASON = Input("reason", "textarea", True, gettext_lazy("Reason"), max_length=TEXT)


def _note(label, required=True):
    return Input("note", "textarea", required, label, max_length=TEXT)


# fmt: off
CASES.add(
    Action(
        "report", (), S.REPORTED, (), creation=True, endpoint="custom",
        inputs=(Input("category", "select", True, gettext_lazy("Category")),
                Input("description", "textarea", True, gettext_lazy("Description")),
                Input("location", "text", True, gettext_lazy("Location"))),
        label=gettext_lazy("Report"), service_label=gettext_lazy("Order placed (群众点单)"),
        summary="问题上报 Report a case",
    ),
    Action(
        "accept", (S.REPORTED,), S.FILED, (OPERATOR, GRID_WORKER), order=10, style="primary",
        guard=_operator_or_service_order,
        inputs=(Input("category", "select", True, gettext_lazy("Category"),
                      help="category code (may correct the reporter's)"),
                Input("priority", "select", True, gettext_lazy("Priority"), value_type=int,
                      minimum=1, maximum=4),
                NOTE),
        schema="CaseAcceptIn",
        label=gettext_lazy("Accept and file"), service_label=gettext_lazy("Take the order (网格接单)"),
        summary="受理立案 Accept and file",
    ),
    Action(
        "reject", (S.REPORTED,), S.REJECTED, (OPERATOR,), order=130, style="danger",
        inputs=(REASON,), schema="CaseReasonIn",
        label=gettext_lazy("Reject"), summary="不予受理 Reject",
    ),
    Action(
        "merge", (S.REPORTED, S.FILED), S.MERGED, (OPERATOR,), order=120,
        inputs=(Input("target", "text", True, gettext_lazy("Merge into case"),
                      help="tracking code or id of the open case to merge into",
                      placeholder=gettext_lazy("Tracking code of the open case")),
                NOTE),
        schema="CaseMergeIn",
        label=gettext_lazy("Merge"), summary="合并 Merge into an open case",
    ),
    Action(
        "self_close", (S.REPORTED,), S.CLOSED, (GRID_WORKER,), order=60, style="primary",
        inputs=(Input("result", "textarea", True, gettext_lazy("Result"), max_length=TEXT),
                Input("attachments", "files", True, gettext_lazy("Photos"),
                      help="attachment ids uploaded to this case")),
        guard=_self_closable, field_app=True,
        schema="CaseResultIn",
        label=gettext_lazy("Self-close"), summary="自办自结 Self-close (grid worker)",
    ),
    Action(
        "dispatch", (S.FILED, S.ASSIGNED), S.ASSIGNED, (OPERATOR,), order=20, style="primary",
        inputs=(Input("department", "select", False, gettext_lazy("Department"),
                      help="department code or id"),
                Input("worker", "select", False, gettext_lazy("Grid worker"),
                      help="user id of a grid worker / handler", value_type=int),
                NOTE,
                Input("co_departments", "select", False, gettext_lazy("Co-departments (协办)"),
                      help="codes or ids of co-departments (主办/协办: with a lead department "
                           "only); each signs and submits its own part",
                      value_type=list[str])),
        any_of=(("department", "worker"),),
        schema="CaseDispatchIn",
        label=gettext_lazy("Dispatch"), service_label=gettext_lazy("Dispatch the order (村社派单)"),
        summary="派遣 Dispatch to a department or worker",
    ),
    Action(
        "return", (S.ASSIGNED,), S.FILED, DOERS, order=110, style="danger", inputs=(REASON,),
        schema="CaseReasonIn",
        label=gettext_lazy("Return"), summary="退回 Return",
    ),
    Action(
        "sign", (S.ASSIGNED,), S.IN_PROGRESS, DOERS, order=30, style="primary", inputs=(NOTE,),
        field_app=True,
        schema="CaseNoteIn",
        label=gettext_lazy("Sign for"), service_label=gettext_lazy("Fulfil the order: sign (党员履单)"),
        summary="签收 Sign for",
    ),
    Action(
        "submit", (S.IN_PROGRESS,), S.HANDLED, DOERS, order=40, style="primary",
        inputs=(Input("result", "textarea", True, gettext_lazy("Result"), max_length=TEXT),
                Input("attachments", "files", True, gettext_lazy("Photos (evidence)"),
                      help="attachment ids uploaded to this case"),
                Input("parts_reason", "textarea", False,
                      gettext_lazy("Why co-handling parts are still open"),
                      help="required when a co-department has not submitted its part; the "
                           "open parts are then withdrawn", max_length=TEXT)),
        field_app=True,
        schema="CaseSubmitIn",
        label=gettext_lazy("Submit result"),
        service_label=gettext_lazy("Fulfil the order: result (党员履单)"),
        summary="处置反馈 Submit the result",
    ),
    Action(
        "verify", (S.HANDLED,), S.CLOSED, VERIFIERS, order=50, style="primary",
        inputs=(_note(gettext_lazy("Verification note")),), guard=_not_own_result,
        field_app=True,
        schema="CaseRequiredNoteIn",
        label=gettext_lazy("Verify and close"), service_label=gettext_lazy("Check fulfilment (督查兑单)"),
        summary="核查通过 Verify and close",
    ),
    Action(
        "rework", (S.HANDLED,), S.IN_PROGRESS, VERIFIERS, order=100, style="danger",
        inputs=(REASON,), guard=_not_own_result, field_app=True,
        schema="CaseReasonIn",
        label=gettext_lazy("Send back for rework"), summary="返工 Send back for rework",
    ),
    Action(
        "escalate", (S.REPORTED, S.FILED), S.REPORTED, (OPERATOR,), order=140, style="danger",
        inputs=(REASON,), schema="CaseReasonIn",
        label=gettext_lazy("Escalate"),
        summary="上报上级 Escalate to the parent center",
    ),
    Action(
        "reopen", (S.CLOSED,), S.FILED, (OPERATOR,), order=190, inputs=(REASON,),
        guard=_reopenable, schema="CaseReasonIn",
        label=gettext_lazy("Reopen"), summary="重新办理 Reopen (within 30 days)",
    ),
    Action(
        "extend_request", (S.ASSIGNED, S.IN_PROGRESS), None, DOERS, order=150,
        path="extension-request",
        inputs=(Input("due", "datetime", True, gettext_lazy("New deadline"),
                      help="requested new final deadline"), REASON),
        schema="CaseExtensionRequestIn",
        label=gettext_lazy("Request extension"), summary="延期申请 Request an extension",
    ),
    Action(
        "extend_approve", (S.FILED, S.ASSIGNED, S.IN_PROGRESS, S.HANDLED), None, (OPERATOR,),
        order=70, path="extension-approve",
        inputs=(Input("due", "datetime", False, gettext_lazy("Approved deadline"),
                      help="defaults to the requested deadline"), NOTE),
        schema="CaseExtensionApproveIn",
        label=gettext_lazy("Approve extension"), summary="批准延期 Approve the pending extension",
    ),
    Action(
        "extend_deny", (S.FILED, S.ASSIGNED, S.IN_PROGRESS, S.HANDLED), None, (OPERATOR,),
        order=170, path="extension-deny", inputs=(REASON,),
        schema="CaseReasonIn",
        label=gettext_lazy("Deny extension"), summary="驳回延期 Deny the pending extension",
    ),
    Action(
        "suspend_request", (S.IN_PROGRESS,), None, DOERS, order=160,
        inputs=(REASON, Input("review_date", "date", True, gettext_lazy("Review date"))),
        schema="CaseSuspendRequestIn",
        label=gettext_lazy("Request suspension"), summary="挂账申请 Request suspension",
    ),
    Action(
        "suspend_approve", (S.IN_PROGRESS,), S.SUSPENDED, (OPERATOR,), order=80, inputs=(NOTE,),
        schema="CaseNoteIn",
        label=gettext_lazy("Approve suspension"), summary="批准挂账 Approve the pending suspension",
    ),
    Action(
        "suspend_deny", (S.IN_PROGRESS,), None, (OPERATOR,), order=180, inputs=(REASON,),
        schema="CaseReasonIn",
        label=gettext_lazy("Deny suspension"), summary="驳回挂账 Deny the pending suspension",
    ),
    Action(
        "resume", (S.SUSPENDED,), S.IN_PROGRESS, (OPERATOR,), order=90, style="primary",
        inputs=(NOTE,), schema="CaseNoteIn",
        label=gettext_lazy("Resume"), summary="恢复办理 Resume",
    ),
    Action(
        "supervise", OPEN, None, (OPERATOR, LEADER, SYSTEM), order=210,
        inputs=(_note(gettext_lazy("Supervision note")),),
        schema="CaseRequiredNoteIn",
        label=gettext_lazy("Supervise"), summary="督办 Supervise",
    ),
    Action(
        "whistle", (S.FILED, S.ASSIGNED, S.IN_PROGRESS), None, (OPERATOR, GRID_CHIEF),
        order=215, style="danger", guard=_may_whistle, field_app=True,
        inputs=(Input("departments", "select", True, gettext_lazy("Departments to call"),
                      help="codes or ids of the departments that must report in (报到)",
                      value_type=list[str]),
                Input("reason", "textarea", True, gettext_lazy("Why the departments are called"),
                      max_length=TEXT)),
        label=gettext_lazy("Blow the whistle (吹哨)"),
        summary="吹哨 Call departments to the case; each must report in (报到) in time",
    ),
    Action(
        "warn", OPEN, None, (SYSTEM,), order=900, endpoint="none",
        label=gettext_lazy("Deadline approaching"),
        summary="黄灯预警 Deadline approaching (the SLA sweep)",
    ),
    Action(
        "comment", ANY, None, STAFF, order=220, touches=False, version_optional=True,
        inputs=(Input("text", "textarea", True, gettext_lazy("Comment text"), max_length=TEXT),
                Input("internal", "checkbox", False,
                      gettext_lazy("Internal (not shown to the reporter)"), default=True,
                      help="false: shown on the public tracking page")),
        schema="CaseCommentIn",
        label=gettext_lazy("Comment"), summary="批注 Comment",
    ),
    Action(
        "attach", OPEN, None, ACTORS, order=230, touches=False, endpoint="custom",
        path="attachments",
        inputs=(Input("file", "file", True, gettext_lazy("Photo or audio clip")),),
        label=gettext_lazy("Attach a file"),
        summary="Upload a photo or audio clip to a case (then cite its id in an action)",
    ),
    Action(
        "rate", (S.CLOSED,), None, (REPORTER,), order=200, style="primary",
        inputs=(Input("score", "score", True, gettext_lazy("Satisfaction"), help="1–5"),
                Input("text", "textarea", False, gettext_lazy("What the reporter said"),
                      max_length=1000)),
        guard=_unrated_citizen_report,
        schema="CaseRateIn",
        label=gettext_lazy("Rate"), service_label=gettext_lazy("Rate the order"),
        summary="回访评价 Rate (1–5, the reporter only)",
    ),
    Action(
        "callback", (S.CLOSED,), None, (OPERATOR,), order=205,
        inputs=(Input("caller", "text", True, gettext_lazy("Caller"),
                      help="name of the caller who answered the 回访", max_length=50),
                Input("score", "score", True, gettext_lazy("Satisfaction"), help="1–5"),
                Input("text", "textarea", False, gettext_lazy("What the caller said"),
                      max_length=1000)),
        guard=_callback_possible,
        label=gettext_lazy("Record a call-back (回访)"),
        summary="回访 Record a caller's call-back (operator; kept apart from ratings)",
    ),
    Action(
        "mediation_close", OPEN, S.CLOSED, (SYSTEM,), order=910, endpoint="none",
        inputs=(Input("result", "textarea", True, gettext_lazy("Result"), max_length=TEXT),
                Input("dispute", "text", True, gettext_lazy("Dispute number"))),
        label=gettext_lazy("Closed by the dispute's conclusion"),
        summary="调解结案 Closed when the dispute it was converted to concluded (civicgrid.mediation)",
    ),
)
# fmt: on

TRANSITIONS = CASES.actions
