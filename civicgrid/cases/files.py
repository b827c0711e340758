"""The views that hand out attachments: to whoever may view the case, or by a signed URL.

See ``civicgrid/core/files.py`` for how a file leaves the server and how URLs are built.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.views.decorators.http import require_GET

from civicgrid.core.files import public_token_read, serve_file
from civicgrid.people.access import principal_of

from .engine import can_view
from .models import Attachment


def attachment_visible(request, att: Attachment) -> bool:
    """Whether the request's user may have ``att``: the case's viewers, else its uploader (or the
    task's worker)."""
    user = request.user
    if att.case_id is not None:
        return can_view(principal_of(request), att.case)
    if att.uploaded_by_id is not None and att.uploaded_by_id == user.pk:
        return True
    if att.task_id is not None:
        return att.task.worker_id == user.pk
    if att.order_id is not None:  # a department task's instructions: its workers and overseers
        from .taskboard import orders_for

        if att.order.grid_tasks.filter(worker_id=user.pk).exists():
            return True
        return orders_for(principal_of(request)).filter(pk=att.order_id).exists()
    return False


def _send(request, att: Attachment, thumb: bool):
    use_thumb = bool(thumb and att.thumbnail)
    return serve_file(
        request,
        att.thumbnail if use_thumb else att.file,
        content_type="image/jpeg" if use_thumb else att.content_type,
        cache_seconds=86400,
    )


@login_required
@require_GET
def attachment_file(request, pk: int):
    """A photo or clip, for users who may see its case (out of scope: 404)."""
    att = Attachment.objects.select_related("case", "task", "order").filter(pk=pk).first()
    if att is None or not attachment_visible(request, att):
        raise Http404("attachment")
    return _send(request, att, request.GET.get("thumb") == "1")


@require_GET
def public_file(request, token: str):
    """A citizen's report photo through the signed, expiring URL its tracking page minted."""
    pk, thumb = public_token_read(token)
    att = Attachment.objects.filter(pk=pk, case__isnull=False).first()
    if att is None:
        raise Http404("attachment")
    response = _send(request, att, thumb)
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
