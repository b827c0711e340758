"""Reveals of masked personal data: one service for the console and the API, each logged."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from civicgrid.cases import engine
from civicgrid.cases.models import Case

from .models import PhoneReveal

# Those who must call the reporter back: the center, the handling unit, the assigned worker.
REVEAL_CAPACITIES = {engine.OPERATOR, engine.HANDLER, engine.ASSIGNEE}


@dataclass
class RevealedPhones:
    reporter_phone: str
    contact_name: str = ""
    contact_phone: str = ""


def reporter_phone_reveal(*, case: Case, actor, ip: str | None) -> RevealedPhones:
    """Log and return the full phone numbers behind ``case`` (reporter; a one-key device's
    emergency contact). Precondition: ``case`` is in ``actor``'s scope (fetched through
    ``case_get_for``); PermissionDenied without a calling-back capacity."""
    if not engine.capacities(actor, case) & REVEAL_CAPACITIES:
        raise PermissionDenied
    PhoneReveal.objects.create(user=actor, case=case, ip=ip or None)
    phone = case.reporter_phone or (case.reporter.phone if case.reporter_id else "")
    out = RevealedPhones(reporter_phone=phone)
    from civicgrid.public.services import device_of_case

    device = device_of_case(case)
    if device is not None:
        out.contact_name = device.contact_name
        out.contact_phone = device.contact_phone
    return out
