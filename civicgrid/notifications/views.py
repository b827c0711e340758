"""The staff inbox: a server-rendered page with HTMX mark-read and a polled unread badge."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags, url_has_allowed_host_and_scheme
from django.utils.translation import get_language, ngettext
from django.views.decorators.http import require_GET, require_POST

from .models import Notification
from .selectors import notification_get_for, notification_list_for, notification_unread_state
from .services import notification_mark_all_read, notification_mark_read

PAGE_SIZE = 30
CHANGED_EVENT = "notificationsChanged"


def _inbox_context(request) -> dict:
    unread_only = request.GET.get("unread") == "1"
    qs = notification_list_for(request.user, unread_only=unread_only)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    unread, _last = notification_unread_state(request.user)
    return {"page": page, "unread_only": unread_only, "unread": unread}


def _own(request, pk: int) -> Notification:
    return notification_get_for(request.user, pk)


@login_required
@require_GET
def inbox(request):
    return render(request, "notifications/inbox.html", _inbox_context(request))


@login_required
@require_POST
def mark_read(request, pk: int):
    row = notification_mark_read(notification=_own(request, pk), actor=request.user)
    if request.htmx:
        unread, _last = notification_unread_state(request.user)
        response = render(request, "notifications/_row.html", {"n": row, "oob_unread": unread})
        response["HX-Trigger"] = CHANGED_EVENT
        return response
    return redirect("notifications:inbox")


@login_required
@require_POST
def mark_all_read(request):
    n = notification_mark_all_read(actor=request.user)
    if request.htmx:
        response = render(request, "notifications/_list.html", _inbox_context(request))
        response["HX-Trigger"] = CHANGED_EVENT
        return response
    messages.success(
        request,
        ngettext("%(n)d notification marked as read.", "%(n)d notifications marked as read.", n)
        % {"n": n},
    )
    return redirect("notifications:inbox")


@login_required
@require_GET
def open_notification(request, pk: int):
    """Follow a notification's link, marking it read on the way (as mail clients do)."""
    row = notification_mark_read(notification=_own(request, pk), actor=request.user)
    target = row.url or _case_page(row.case_id)
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("notifications:inbox")


def _case_page(case_id: int | None) -> str:
    """The staff case page, resolved when followed so old rows follow the console's URLs."""
    if case_id is None:
        return ""
    try:
        return reverse("console:case_detail", args=[case_id])
    except NoReverseMatch:
        return ""


@require_GET
def badge(request):
    """The unread badge, polled by every page; answers 304 while the unread set is unchanged."""
    if not request.user.is_authenticated:
        # 204: htmx leaves the element alone instead of swapping a login page into the bar.
        return HttpResponse(status=204)
    unread, last = notification_unread_state(request.user)
    etag = f'"n{unread}-{last}-{get_language()}"'
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        response = HttpResponseNotModified()
    else:
        response = render(request, "notifications/_bell.html", {"unread": unread, "loaded": True})
    response["ETag"] = etag
    # Revalidate every time; the browser then turns 304s into its cached copy for htmx.
    response["Cache-Control"] = "private, no-cache"
    patch_vary_headers(response, ["Cookie", "Accept-Language"])
    return response
