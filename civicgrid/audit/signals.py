"""Model and authentication signals → audit events, so other apps need no audit calls.

pre_save keeps the row as it is in the database (the before-image); post_save and post_delete
append the event. Bulk writes send no signals: their callers record one summary event.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth import signals as auth_signals
from django.db.models import signals

from . import registry, services
from .context import actor_for_request
from .models import Action

_BEFORE = "_audit_before"


def _pre_save(sender, instance, raw=False, update_fields=None, **kwargs):
    spec = registry.spec_for(sender)
    if spec is None or raw or spec.only_create or instance.pk is None or instance._state.adding:
        return
    if update_fields is not None and set(update_fields) <= spec.ignore:
        return  # e.g. last_login on sign-in: nothing audited can change
    old = sender._base_manager.filter(pk=instance.pk).first()
    instance.__dict__[_BEFORE] = registry.image(old, spec) if old is not None else None


def _post_save(sender, instance, created, raw=False, update_fields=None, **kwargs):
    spec = registry.spec_for(sender)
    if spec is None or raw:
        return
    after = registry.image(instance, spec)
    if created:
        services.record(spec.create_action, obj=instance, after=after)
        return
    if spec.only_create:
        return
    if update_fields is not None and set(update_fields) <= spec.ignore:
        return
    before = instance.__dict__.pop(_BEFORE, None)
    if before is None:
        services.record(Action.UPDATE, obj=instance, after=after)
        return
    changed_before, changed_after = registry.diff(before, after)
    if changed_after:
        services.record(Action.UPDATE, obj=instance, before=changed_before, after=changed_after)


def _post_delete(sender, instance, **kwargs):
    spec = registry.spec_for(sender)
    if spec is None or spec.only_create:
        return
    services.record(Action.DELETE, obj=instance, before=registry.image(instance, spec))


def _m2m_changed(sender, instance, action, model, pk_set, reverse, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear") or reverse:
        return
    if registry.spec_for(type(instance)) is None:
        return
    relation = next(
        (
            f.name
            for f in type(instance)._meta.many_to_many
            if getattr(type(instance), f.name).through is sender
        ),
        sender._meta.label_lower,
    )
    verb = action.removeprefix("post_")
    services.record(
        Action.UPDATE,
        obj=instance,
        details={"relation": relation, "change": verb, "ids": sorted(pk_set or [])},
    )


def _login(sender, request, user, **kwargs):
    services.record(Action.LOGIN, obj=user, actor=actor_for_request(request, user))


def _logout(sender, request, user, **kwargs):
    if user is not None:
        services.record(Action.LOGOUT, obj=user, actor=actor_for_request(request, user))


def _login_failed(sender, credentials, request=None, **kwargs):
    # The attempted name, never the password (Django already replaces it with ********).
    username = str(credentials.get("username", ""))[:150]
    actor = actor_for_request(request) if request is not None else None
    blocked = getattr(request, "login_guard_block", None) if request is not None else None
    services.record(
        Action.LOGIN_FAILED,
        object_type="people.user",
        object_repr=username,
        details={"username": username, "refused_by": blocked.kind if blocked else None},
        actor=actor,
    )


def _locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    actor = actor_for_request(request) if request is not None else None
    services.record(
        Action.LOCKOUT,
        object_type="people.user",
        object_repr=str(username or "")[:150],
        details={"username": username, "ip": ip_address, "by": "axes"},
        actor=actor,
    )


def connect() -> None:
    for label in registry.SPECS:
        model = apps.get_model(label)
        uid = f"audit:{label}"
        signals.pre_save.connect(_pre_save, sender=model, dispatch_uid=uid + ":pre")
        signals.post_save.connect(_post_save, sender=model, dispatch_uid=uid + ":post")
        signals.post_delete.connect(_post_delete, sender=model, dispatch_uid=uid + ":del")
        for m2m in model._meta.many_to_many:
            signals.m2m_changed.connect(
                _m2m_changed, sender=getattr(model, m2m.name).through, dispatch_uid=uid + m2m.name
            )
    auth_signals.user_logged_in.connect(_login, dispatch_uid="audit:login")
    auth_signals.user_logged_out.connect(_logout, dispatch_uid="audit:logout")
    auth_signals.user_login_failed.connect(_login_failed, dispatch_uid="audit:login_failed")
    from axes.signals import user_locked_out

    user_locked_out.connect(_locked_out, dispatch_uid="audit:lockout")
