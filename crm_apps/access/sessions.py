"""Members' browser sessions on a workspace: recorded at sign-in, touched at most once a minute (a
timestamp in the session, so a request within the minute costs nothing), listed on the profile page,
revocable one by one or all but this one, ended after the workspace's idle time, and ended on the
other devices when the password changes (issue 26)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_out
from django.db.models import QuerySet
from django.dispatch import receiver
from django.http import Http404, HttpRequest

from crm_apps.access.models import Member, MemberSession
from crm_apps.audit.services import MEMBER_CHANGED, audit_log
from saas.http import client_ip

SEEN_KEY = "member_seen"
TOUCH_EVERY_SECONDS = 60


def _store() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore


def _stamp(now: int) -> datetime:
    return datetime.fromtimestamp(now, tz=UTC)


def session_record(request: HttpRequest, member: Member, *, now: int | None = None) -> None:
    """Remember this session for its member (at sign-in, and once a minute after)."""
    now = int(time.time()) if now is None else now
    request.session[SEEN_KEY] = now
    if not request.session.session_key:
        request.session.save()
    key = request.session.session_key
    if not key:
        return
    MemberSession.objects.update_or_create(
        session_key=key,
        defaults={
            "member": member,
            "last_seen_at": _stamp(now),
            "ip": client_ip(request) or None,
            "user_agent": request.headers.get("User-Agent", "")[:300],
        },
        create_defaults={
            "member": member,
            "created_at": _stamp(now),
            "last_seen_at": _stamp(now),
            "ip": client_ip(request) or None,
            "user_agent": request.headers.get("User-Agent", "")[:300],
        },
    )


def session_rekey(*, old_key: str | None, new_key: str | None) -> str | None:
    """The same session under a new key (Django cycles the key when the password changes)."""
    if old_key and new_key and old_key != new_key:
        MemberSession.objects.filter(session_key=old_key).update(session_key=new_key)
    return new_key


def session_touch(request: HttpRequest, member: Member) -> bool:
    """Called for every signed-in request. False when the session was idle longer than the workspace
    allows: it is then ended (the request goes on as anonymous)."""
    now = int(time.time())
    seen = request.session.get(SEEN_KEY)
    idle_minutes = getattr(getattr(request, "tenant", None), "session_idle_minutes", 0) or 0
    if idle_minutes and isinstance(seen, int) and now - seen > idle_minutes * 60:
        logout(request)
        return False
    if not isinstance(seen, int) or now - seen >= TOUCH_EVERY_SECONDS:
        session_record(request, member, now=now)
    return True


@receiver(user_logged_out, dispatch_uid="access-member-session-logout")
def _forget_on_logout(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    tenant = getattr(request, "tenant", None)
    # Signing out on the public host (console, partner portal): there are no member sessions there.
    if key and tenant is not None and tenant.schema_name != "public":
        MemberSession.objects.filter(session_key=key).delete()


def member_sessions(member: Member) -> QuerySet[MemberSession]:
    return MemberSession.objects.filter(member=member).order_by("-last_seen_at", "-pk")


def _end(rows: list[MemberSession]) -> int:
    store = _store()
    for row in rows:
        store(session_key=row.session_key).delete()
    MemberSession.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return len(rows)


def session_revoke(*, member: Member, session_id: int, current_key: str | None) -> None:
    """End one of the member's own sessions (404 for anyone else's); the current one is signed out
    with the usual sign-out instead."""
    row = MemberSession.objects.filter(member=member, pk=session_id).first()
    if row is None or row.session_key == current_key:
        raise Http404
    _end([row])
    audit_log(action=MEMBER_CHANGED, actor=member, details={"sessions_ended": 1, "why": "revoked"})


def sessions_end_others(*, member: Member, current_key: str | None, why: str = "revoked") -> int:
    """End every session of the member on this workspace except the current one."""
    rows = list(MemberSession.objects.filter(member=member).exclude(session_key=current_key or ""))
    ended = _end(rows)
    if ended:
        audit_log(action=MEMBER_CHANGED, actor=member, details={"sessions_ended": ended, "why": why})
    return ended


def device_label(user_agent: str) -> str:
    """ "Firefox on Linux", from the User-Agent header (good enough to recognise one's own devices)."""
    ua = user_agent or ""
    browsers = (
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
    )
    systems = (
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    )
    browser = next((name for token, name in browsers if token in ua), "")
    system = next((name for token, name in systems if token in ua), "")
    if browser and system:
        return f"{browser} · {system}"
    return browser or system or ua[:60]
