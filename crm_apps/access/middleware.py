"""Membership is checked on every request, not only at login."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, login, logout
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language_from_request
from django_tenants.utils import get_public_schema_name

from crm_apps.access.formats import formats_activate, formats_deactivate
from crm_apps.access.models import Member
from crm_apps.access.selectors import member_for_user
from crm_apps.access.sessions import session_record, session_touch
from crm_apps.audit.services import LOGIN_SUCCEEDED, audit_log
from tenants.auth import user_already_read
from tenants.mfa.state import SSO_SIGNIN_KEY

SESSION_EPOCH_KEY = "member_epoch"


def member_login(request: HttpRequest, member: Member, *, details: dict[str, Any] | None = None) -> None:
    """Sign a member in on this host; the session remembers the member's current session epoch."""
    login(request, member.user, backend="tenants.auth.EmailBackend")
    request.session.pop(SSO_SIGNIN_KEY, None)  # single sign-on sets it again after this call
    request.session[SESSION_EPOCH_KEY] = member.session_epoch
    session_record(request, member)
    audit_log(action=LOGIN_SUCCEEDED, actor=member, actor_label=member.user.email, details=details or {"via": "web"})


def request_member(request: Any) -> Member:
    """The active member behind this request (HTML or DRF); PermissionDenied when there is none."""
    raw = getattr(request, "_request", request)
    member = getattr(raw, "member", None)
    if member is None:
        raise PermissionDenied
    return member


def _member_of_session(request: HttpRequest) -> Member | None:
    """The active member of the user this request's session names (not yet verified: Django's get_user
    does that), or None."""
    try:
        user_id = int(request.session[SESSION_KEY])
    except (KeyError, TypeError, ValueError):
        return None
    # Read with the session when it has a member session row (crm_apps/access/session_store.py): taken when it
    # is this user's, under the same conditions as member_for_user's statement.
    recorded = getattr(request.session, "recorded_member", None)
    if recorded is not None and recorded.user_id == user_id:
        return recorded if recorded.active and recorded.user.is_active else None
    return member_for_user(user_id=user_id)


class MembershipMiddleware:
    """On a tenant host, an authenticated user without an active Member here is treated as anonymous.

    Also activates the member's language, time zone and date/time/number formats (anonymous visitors get
    the browser's language); the formats are reset when the request ends, so they never outlive it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.member = None  # type: ignore[attr-defined]
        tenant = getattr(request, "tenant", None)
        language = get_language_from_request(request)
        tz = None
        vary_cookie = False
        if tenant is not None and tenant.schema_name != get_public_schema_name():
            # Without a session cookie nobody is signed in: the user is not even looked up.
            has_session = settings.SESSION_COOKIE_NAME in request.COOKIES
            if not has_session:
                request.user = AnonymousUser()
                vary_cookie = True  # the page depends on the cookie, though the session was never read
            member = None
            authenticated = False
            if has_session:
                # The member and its user, read with the session (or by the id the session names); Django's get_user
                # takes that user row (and still checks the session against it) instead of reading it again.
                member = _member_of_session(request)
                with user_already_read(member.user if member is not None else None):
                    authenticated = request.user.is_authenticated
            user = request.user
            if has_session and authenticated:
                if member is not None and member.user_id != user.pk:  # never: the same session key
                    member = member_for_user(user_id=user.pk) if user.pk is not None else None
                if member is not None and request.session.get(SESSION_EPOCH_KEY) != member.session_epoch:
                    logout(request)  # a session from before a deactivation: gone for good
                    member = None
                if member is not None and not session_touch(request, member):
                    member = None  # idle longer than the workspace allows: signed out
                if member is None:
                    request.user = AnonymousUser()
                else:
                    request.member = member  # type: ignore[attr-defined]
                    request.user = member.user
                    language = member.language
                    tz = member.timezone
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        if tz:
            timezone.activate(zoneinfo.ZoneInfo(tz))
        else:
            timezone.deactivate()
        formats_token = formats_activate(request.member)  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            formats_deactivate(formats_token)
        if vary_cookie:
            patch_vary_headers(response, ("Cookie",))
        response.headers.setdefault("Content-Language", translation.get_language())
        if request.headers.get("HX-Request") == "true" and response.status_code == 302:
            # An htmx request must not swap a sign-in page into a table row: redirect the whole page.
            redirect = HttpResponse(status=204)
            redirect["HX-Redirect"] = response["Location"]
            return redirect
        return response
