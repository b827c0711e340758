"""The workflow engine: a table of actions per workflow and one function that runs them.

A :class:`Workflow` is a definition — the model whose rows move, the field holding their
state, the append-only log model, how to tell what a user *is* for one row (capacities) —
plus its action table: one :class:`Action` per action, declaring the allowed from-states,
the to-state, who may run it, its typed inputs (name, kind, required, label, help), its place
and style in the UI and its wording in the log. The API endpoints, the console forms, the
field app's allow-list and the docs tables are derived from these rows; an action's behaviour
beyond the table is one *handler* (``@workflow.handler("name")``) that reads the inputs,
raises ``DomainError`` naming the field for bad input, and fills the :class:`Step` with the
changes to write. Handlers plan and write nothing.

:meth:`Workflow.act` is the only code that moves a row from one state to another:

1. the action exists and the row's state is one of its from-states (else 409, naming the
   actions allowed now);
2. the actor holds one of its capacities on the row (else 403; no capacity and no view: 404);
3. the version the caller saw is current (else 409) and the required inputs are present;
4. the handler plans the change inside ``transaction.atomic()``;
5. :meth:`Workflow.commit` writes the row with a compare-and-set on its version
   (``UPDATE … SET <changed fields>, version = version + 1 WHERE id AND version``: zero rows is
   a 409, so two concurrent actions never both succeed), appends the immutable log row (actor,
   role, from, to, note, data, time) and queues side effects with ``transaction.on_commit`` so
   a failing notification can never undo a transition.

Creation (:meth:`Workflow.create`) is a commit too: the engine sets the creation action's
to-state and writes the first log row. :meth:`Workflow.bulk_commit` is the one path for bulk
loads (the demo): it checks every logged step against the table and writes rows and log rows
with ``bulk_create``.

Cases (``civicgrid.cases.registry``) and grid tasks (``civicgrid.cases.gridtasks``) are the
first workflows; disputes, department tasks and 报到 are new tables on the same engine.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.core.errors import Conflict, DomainError, Forbidden, NotFound

# Input kinds, each rendered by the console and typed in the API schema:
# text, textarea (strings); select/ref (a code or id); int; score (1–5); datetime; date;
# files (uploads or attachment ids); file (one upload); checkbox (bool).
INPUT_KINDS = (
    "text",
    "textarea",
    "select",
    "ref",
    "int",
    "score",
    "datetime",
    "date",
    "files",
    "file",
    "checkbox",
)
STYLES = ("primary", "secondary", "danger")


@dataclass(frozen=True)
class Input:
    """One typed input of an action."""

    name: str
    kind: str = "textarea"
    required: bool = False
    label: Any = ""
    help: Any = ""
    max_length: int | None = None
    placeholder: Any = ""
    default: Any = None
    value_type: type = str  # the API's type of a select/ref/text value
    minimum: int | None = None
    maximum: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in INPUT_KINDS:
            raise ValueError(f"input {self.name}: unknown kind {self.kind!r}")


@dataclass(frozen=True)
class Action:
    """One row of a workflow's action table."""

    name: str
    sources: tuple[str, ...]
    target: str | None  # None: the state does not change
    who: tuple[str, ...]
    inputs: tuple[Input, ...] = ()
    label: Any = ""
    log: Any = None  # the log's wording, when it differs from the label
    service_label: Any = None  # the 六联单 vocabulary of cases, when it differs
    order: int = 100  # place in the UI (smaller first)
    style: str = "secondary"
    path: str | None = None  # URL slug; None: the name with "-" for "_"
    summary: str = ""  # the API operation's summary
    any_of: tuple[tuple[str, ...], ...] = ()  # groups of which one input is required
    guard: Callable[[Any, set[str], Any], bool] | None = None  # (row, caps, actor) → offered?
    touches: bool = True  # False: the row is not updated (no version bump), only logged
    version_optional: bool = False  # the API accepts the action without a version
    creation: bool = False  # the action that creates a row (run by Workflow.create)
    endpoint: str = "generated"  # "generated": one POST per action; "custom"; "none"
    field_app: bool = False  # offered in the grid worker's phone app
    schema: str | None = None  # the API input schema's name (actions may share one)

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"action {self.name}: unknown style {self.style!r}")

    @property
    def slug(self) -> str:
        return self.path or self.name.replace("_", "-")

    @property
    def required(self) -> tuple[str, ...]:
        """Required input names; a group of alternatives is written ``a|b``."""
        return tuple(i.name for i in self.inputs if i.required) + tuple(
            "|".join(g) for g in self.any_of
        )

    @property
    def roles(self) -> tuple[str, ...]:
        return self.who

    @property
    def action(self) -> str:
        return self.name

    def input(self, name: str) -> Input | None:
        return next((i for i in self.inputs if i.name == name), None)


@dataclass
class Step:
    """What one action does, filled in by its handler before anything is written."""

    obj: Any
    actor: Any
    role: str
    inputs: dict
    now: dt.datetime
    transition: Action
    workflow: Workflow
    changes: dict = field(default_factory=dict)
    note: str = ""
    data: dict = field(default_factory=dict)
    touch_case: bool = True  # False: no row update (e.g. a comment)
    after: list[Callable[[Any], None]] = field(default_factory=list)
    effects: list[Callable[[], None]] = field(default_factory=list)

    @property
    def case(self) -> Any:
        return self.obj

    @property
    def task(self) -> Any:
        return self.obj


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | set):
        return len(value) == 0
    return False


# Every workflow defined, by name (the state-write test and the docs read them from here).
WORKFLOWS: dict[str, Workflow] = {}


class Workflow:
    """A workflow definition and its engine (see the module docstring)."""

    def __init__(
        self,
        *,
        name: str,
        model: Any,
        log_model: Any,
        log_fk: str,
        capacities: Callable[[Any, Any], set[str]],
        capacity_labels: dict[str, Any],
        state_field: str = "state",
        version_field: str = "version",
        updated_field: str | None = "updated_at",
        handlers: str | None = None,
        noun: Any = "object",
        can_view: Callable[[Any, Any], bool] | None = None,
        state_label: Callable[[Any, str], str] | None = None,
        on_commit_row: Callable[[Step, Any], None] | None = None,
    ) -> None:
        self.name = name
        self.model = model
        self.log_model = log_model
        self.log_fk = log_fk
        self.capacities = capacities
        self.capacity_labels = capacity_labels
        self.state_field = state_field
        self.version_field = version_field
        self.updated_field = updated_field
        self.handlers_module = handlers
        self.noun = noun
        self._can_view = can_view
        self._state_label = state_label
        self.on_commit_row = on_commit_row
        self.actions: dict[str, Action] = {}
        self._handlers: dict[str, Callable[[Step], None]] = {}
        WORKFLOWS[name] = self

    # --- the table ----------------------------------------------------------------------------

    def add(self, *actions: Action) -> None:
        for a in actions:
            if a.name in self.actions:
                raise ValueError(f"{self.name}: action {a.name} declared twice")
            self.actions[a.name] = a

    def remove(self, name: str) -> None:
        self.actions.pop(name, None)
        self._handlers.pop(name, None)

    def handler(self, name: str) -> Callable[[Callable[[Step], None]], Callable[[Step], None]]:
        """Register ``fn(step)`` as the handler of action ``name`` (declared in the table)."""

        def register(fn: Callable[[Step], None]) -> Callable[[Step], None]:
            self._handlers[name] = fn
            return fn

        return register

    def handler_of(self, name: str) -> Callable[[Step], None] | None:
        if self.handlers_module and name not in self._handlers:
            importlib.import_module(self.handlers_module)
        return self._handlers.get(name)

    def ordered(self) -> list[Action]:
        """The actions in UI order (creation excluded)."""
        rows = [a for a in self.actions.values() if not a.creation]
        return sorted(rows, key=lambda a: (a.order, list(self.actions).index(a.name)))

    def creation(self) -> Action:
        return next(a for a in self.actions.values() if a.creation)

    def target_of(self, action: str, from_state: str) -> str:
        """The state ``action`` leads to from ``from_state`` (checked against the table)."""
        a = self.actions[action]
        if not a.creation and from_state not in a.sources:
            raise ValueError(f"{self.name}: {action} is not allowed from {from_state!r}")
        return a.target or from_state

    # --- questions ----------------------------------------------------------------------------

    def state_of(self, obj: Any) -> str:
        return getattr(obj, self.state_field)

    def label_of_state(self, obj: Any, state: str) -> str:
        if self._state_label is not None:
            return self._state_label(obj, state)
        return state

    def can_view(self, user: Any, obj: Any) -> bool:
        return bool(self._can_view(user, obj)) if self._can_view else False

    def allowed(self, user: Any, obj: Any, caps: set[str] | None = None) -> list[str]:
        """Actions ``user`` may start on ``obj`` now, by the table and the guards."""
        caps = self.capacities(user, obj) if caps is None else caps
        state = self.state_of(obj)
        out = []
        for a in self.actions.values():
            if a.creation or state not in a.sources or not caps & set(a.who):
                continue
            if a.guard is not None and not a.guard(obj, caps, user):
                continue
            out.append(a.name)
        return out

    # --- running an action --------------------------------------------------------------------

    def refused(self, obj: Any, action: str, user: Any, caps: set[str]) -> DomainError:
        allowed = self.allowed(user, obj, caps)
        state = self.state_of(obj)
        names = ", ".join(allowed) if allowed else _("none")
        return DomainError(
            "action_not_allowed",
            _(
                "The action “%(action)s” is not allowed while the %(noun)s is %(state)s "
                "(%(code)s). Allowed actions: %(allowed)s."
            )
            % {
                "action": action,
                "noun": self.noun,
                "state": self.label_of_state(obj, state),
                "code": state,
                "allowed": names,
            },
            details={"state": state, "allowed_actions": allowed, "action": action},
            status=409,
        )

    def conflict(self, obj: Any) -> Conflict:
        return Conflict(
            "version_conflict",
            _("The %(noun)s was changed by someone else meanwhile; reload it and try again.")
            % {"noun": self.noun},
            details={"version": getattr(obj, self.version_field)},
        )

    def act(
        self,
        *,
        obj: Any,
        action: str,
        actor: Any,
        role: str | None = None,
        expected_version: int | None = None,
        extra_caps: Iterable[str] = (),
        inputs: dict[str, Any] | None = None,
    ) -> Any:
        """Run ``action`` on ``obj`` as ``actor``; returns the appended log row.

        ``role`` picks the capacity to act in when the actor holds several.
        ``expected_version`` refuses with 409 when the row changed meanwhile. ``extra_caps``
        are capacities a trusted caller vouches for (the SLA sweep's ``system``).
        """
        inputs = dict(inputs or {})
        a = self.actions.get(action)
        if a is None or a.creation:
            raise DomainError(
                "unknown_action",
                _("Unknown action “%(action)s”.") % {"action": action},
                field="action",
                details={"actions": [x.name for x in self.actions.values() if not x.creation]},
            )
        caps = set(self.capacities(actor, obj)) | set(extra_caps)
        if not caps and not (actor is not None and self.can_view(actor, obj)):
            raise NotFound(str(self.noun))
        if self.state_of(obj) not in a.sources:
            raise self.refused(obj, action, actor, caps)
        usable = [r for r in a.who if r in caps]
        if role is not None:
            if role not in caps:
                raise Forbidden(
                    _("You do not act as %(role)s on this %(noun)s.")
                    % {"role": role, "noun": self.noun},
                    code="role_not_held",
                    field="role",
                )
            usable = [role] if role in a.who else []
        if not usable:
            raise Forbidden(
                _("Only %(roles)s may %(action)s this %(noun)s.")
                % {
                    "roles": " / ".join(str(self.capacity_labels.get(r, r)) for r in a.who),
                    "action": self.label_of(a, obj),
                    "noun": self.noun,
                },
                code="permission_denied",
                details={"required_roles": list(a.who), "your_roles": sorted(caps)},
            )
        version = getattr(obj, self.version_field)
        if expected_version is not None and int(expected_version) != version:
            raise self.conflict(obj)
        self.check_required(a, inputs)
        step = Step(
            obj=obj,
            actor=actor,
            role=usable[0],
            inputs=inputs,
            now=timezone.now(),
            transition=a,
            workflow=self,
            touch_case=a.touches,
        )
        handler = self.handler_of(action)
        with transaction.atomic():
            if handler is not None:
                handler(step)  # validates and fills step; may read but does not write
            return self.commit(step)

    def label_of(self, a: Action, obj: Any = None) -> str:
        return str(a.label or a.name)

    @staticmethod
    def check_required(a: Action, inputs: dict[str, Any]) -> None:
        for i in a.inputs:
            if i.required and _empty(inputs.get(i.name)):
                raise DomainError(
                    "required", _("%(field)s is required.") % {"field": i.name}, field=i.name
                )
        for group in a.any_of:
            if all(_empty(inputs.get(n)) for n in group):
                raise DomainError(
                    "required",
                    _("One of %(fields)s is required.") % {"fields": ", ".join(group)},
                    field=group[0],
                )

    def commit(self, step: Step) -> Any:
        """Write the planned step: version-checked row update, log row, on-commit effects."""
        obj, a = step.obj, step.transition
        from_state = self.state_of(obj)
        to_state = a.target or from_state
        if a.target:
            step.changes[self.state_field] = a.target
        if step.touch_case:
            if self.updated_field:
                step.changes[self.updated_field] = step.now
            old = getattr(obj, self.version_field)
            updated = (
                type(obj)
                ._default_manager.filter(pk=obj.pk, **{self.version_field: old})
                .update(**{self.version_field: old + 1}, **step.changes)
            )
            if updated == 0:
                raise self.conflict(obj)
            for k, v in step.changes.items():
                setattr(obj, k, v)
            setattr(obj, self.version_field, old + 1)
        row = self._log(step, from_state, to_state)
        for fn in step.after:
            fn(row)
        if self.on_commit_row is not None:
            self.on_commit_row(step, row)
        for effect in step.effects:
            transaction.on_commit(effect)
        return row

    def _log(self, step: Step, from_state: str, to_state: str) -> Any:
        return self.log_model.objects.create(
            **{self.log_fk: step.obj},
            action=step.transition.name,
            actor=step.actor if getattr(step.actor, "pk", None) else None,
            role=step.role,
            from_state=from_state,
            to_state=to_state,
            note=step.note,
            data=step.data,
            created_at=step.now,
        )

    def create(self, step: Step) -> Any:
        """Insert ``step.obj`` in the creation action's to-state and write its first log row.

        The caller (the workflow's creation service) has checked the inputs and who may
        create; ``step.transition`` is the creation action.
        """
        a = step.transition
        if not a.creation:
            raise ValueError(f"{a.name} is not the creation action of {self.name}")
        obj = step.obj
        setattr(obj, self.state_field, a.target)
        setattr(obj, self.version_field, 1)
        with transaction.atomic():
            obj.save(force_insert=True)
            row = self._log(step, "", a.target)
            for fn in step.after:
                fn(row)
        for effect in step.effects:
            transaction.on_commit(effect)
        return row

    def bulk_commit(
        self, plans: list[tuple[Any, list[dict[str, Any]]]], *, batch_size: int = 1000
    ) -> int:
        """Insert rows with their histories in bulk; returns the number of log rows.

        For bulk loads (the demo) where running every action would take hours. Each plan is
        (unsaved row, steps); a step is a dict with ``action`` and the log fields (``actor``,
        ``role``, ``note``, ``data``, ``created_at``). The first step must be the creation
        action; the engine takes each step's to-state from the table (ValueError when the
        table does not allow the step), sets the row's final state and version, and writes the
        rows and their log rows with ``bulk_create``. Handlers are not run: the caller fills
        in the fields the steps change.
        """
        logs: list[tuple[Any, dict[str, Any]]] = []
        for obj, steps in plans:
            if not steps or not self.actions[steps[0]["action"]].creation:
                raise ValueError(f"{self.name}: a history starts with the creation action")
            state, version = "", 1
            for step in steps:
                a = self.actions[step["action"]]
                to_state = self.target_of(a.name, state)
                if not a.creation and a.touches:
                    version += 1
                fields = {k: v for k, v in step.items() if k != "action"}
                logs.append(
                    (obj, {"action": a.name, "from_state": state, "to_state": to_state, **fields})
                )
                state = to_state
            setattr(obj, self.state_field, state)
            setattr(obj, self.version_field, version)
        with transaction.atomic():
            self.model.objects.bulk_create([obj for obj, _s in plans], batch_size=batch_size)
            self.log_model.objects.bulk_create(
                [self.log_model(**{self.log_fk: obj}, **f) for obj, f in logs],
                batch_size=batch_size,
            )
        return len(logs)
