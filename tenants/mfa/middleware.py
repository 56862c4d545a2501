"""Holds a signed-in session that still owes a second factor (or an enrolment) at the MFA pages."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from tenants.mfa.state import CHALLENGE, NONE, need_get

# Reachable while a second factor is owed: the MFA pages themselves, signing out, assets, language.
ALLOWED_PREFIXES = (
    "/mfa/",
    "/accounts/logout/",
    "/partner-portal/logout/",
    "/admin/logout/",
    "/static/",
    "/i18n/",
)


class MfaGateMiddleware:
    """After MembershipMiddleware: on a tenant host only an active member counts as signed in. Requests
    authenticated by an API token, an app password (DAV) or an access key (vtiger) carry no session
    user here and pass untouched: those credentials are created behind a second factor instead."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith(ALLOWED_PREFIXES):
            return self.get_response(request)
        need = need_get(request, user)
        if need == NONE:
            return self.get_response(request)
        if request.headers.get("HX-Request") == "true":
            # A page's background update (the notification bell...) must not carry the page away.
            return HttpResponse(status=403)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": _("Two-factor verification is required. Sign in on the web.")}, status=403)
        target = reverse("mfa:challenge") if need == CHALLENGE else reverse("mfa:index")
        next_url = request.get_full_path() if request.method == "GET" else "/"
        return HttpResponseRedirect(f"{target}?{urlencode({'next': next_url})}")
