"""The notification centre's screens: the bell (polled), the list, the preferences. Thin."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.middleware import request_member
from crm_apps.notifications import kinds
from crm_apps.notifications.models import Notification
from crm_apps.notifications.selectors import notification_list, notification_title, preferences_get, unread_count
from crm_apps.notifications.services import notification_mark_read, notifications_mark_all_read, preferences_set

PAGE_SIZE = 50


def rows_for(notifications: list[Notification]) -> list[dict[str, Any]]:
    """What a list shows of each notification, titles in the active language, with the buttons a module
    registered for its kind (`kinds.row_actions_register`: one call per kind on the page)."""
    actions: dict[int, dict[str, Any]] = {}
    for kind in {n.kind for n in notifications}:
        registered = kinds.row_actions_get(kind)
        if registered is None:
            continue
        found = registered.context([n for n in notifications if n.kind == kind])
        actions.update({pk: {"template": registered.template, **ctx} for pk, ctx in found.items()})
    return [
        {
            "id": n.pk,
            "title": notification_title(n),
            "body": n.params.get("body", ""),
            "url": n.url,
            "created_at": n.created_at,
            "unread": n.read_at is None,
            "actions": actions.get(n.pk),
        }
        for n in notifications
    ]


@login_required
def bell(request: HttpRequest) -> HttpResponse:
    """The top bar's bell with the unread count (htmx polls it)."""
    return render(
        request, "notifications/_bell.html", {"notifications_unread": unread_count(member=request_member(request))}
    )


@login_required
def notification_list_view(request: HttpRequest) -> HttpResponse:
    member = request_member(request)
    only_unread = request.GET.get("unread") == "1"
    qs = notification_list(member=member, unread=True if only_unread else None)
    before = request.GET.get("before", "")
    anchor = Notification.objects.filter(recipient=member, pk=before).first() if before.isdigit() else None
    if anchor is not None:
        qs = qs.filter(Q(created_at__lt=anchor.created_at) | Q(created_at=anchor.created_at, pk__lt=anchor.pk))
    rows = list(qs[: PAGE_SIZE + 1])
    page = rows[:PAGE_SIZE]
    context = {
        "rows": rows_for(page),
        "older": page[-1].pk if len(rows) > PAGE_SIZE else None,
        "only_unread": only_unread,
        "notifications_unread": unread_count(member=member),
    }
    return render(request, "notifications/list.html", context)


def _safe(request: HttpRequest, url: str) -> bool:
    return bool(url) and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()})


@login_required
@require_POST
def notification_read_view(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one read; `open` goes on to its record, otherwise back to the list."""
    try:
        notification = notification_mark_read(member=request_member(request), notification_id=notification_id)
    except Notification.DoesNotExist as exc:
        raise Http404 from exc
    if request.POST.get("open") and _safe(request, notification.url):
        return redirect(notification.url)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read_all_view(request: HttpRequest) -> HttpResponse:
    marked = notifications_mark_all_read(member=request_member(request))
    if marked:
        messages.success(request, _("All notifications marked read."))
    return redirect("notifications:list")


@login_required
def preferences_view(request: HttpRequest) -> HttpResponse:
    """The member's channel per kind and the daily digest."""
    member = request_member(request)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        channels = {k.key: request.POST.get(f"channel-{k.key}", "") for k in kinds.kinds_all()}
        try:
            preferences_set(member=member, channels=channels, digest=request.POST.get("digest") == "1")
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("Your notification settings are saved."))
            back = request.POST.get("next", "")
            return redirect(back if _safe(request, back) else "notifications:preferences")
    rows, digest = preferences_get(member=member)
    context = {
        "rows": rows,
        "digest": digest,
        "channels": [(key, kinds.CHANNEL_LABELS[key]) for key in kinds.CHANNELS],
        "errors": errors,
    }
    return render(request, "notifications/preferences.html", context, status=400 if errors else 200)
