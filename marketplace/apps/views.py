"""OAuth endpoints and the apps' settings page, on tenant hosts (<slug>.<BASE_DOMAIN>/oauth/...).

The protocol is django-oauth-toolkit's (views) and oauthlib's (introspection endpoint); these views
add the consent screen (administrators only, listing what the app can read and write) and bind
everything to the host's tenant through `validators.TenantOAuth2Validator`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.views import AuthorizationView, RevokeTokenView, TokenView
from oauth2_provider.views.mixins import OAuthLibMixin

from crm_apps.access.middleware import request_member
from marketplace.apps import selectors, services
from marketplace.apps.scopes import scope_descriptions


class ConsentView(AuthorizationView):
    """`GET /oauth/authorize/`: the toolkit validates the request (client, redirect URI, PKCE S256,
    scopes) and this page asks an administrator to allow exactly the listed scopes."""

    template_name = "marketplace/apps/consent.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if getattr(request, "tenant", None) is None or request.tenant.schema_name == "public":  # type: ignore[attr-defined]
            raise Http404
        if request.user.is_authenticated:
            member = getattr(request, "member", None)
            if member is None or not member.is_admin:
                return render(request, "marketplace/apps/consent_denied.html", status=403)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # The toolkit reads `approval_prompt` from the query string (REQUEST_APPROVAL_PROMPT is only its
        # default): with `auto` it would issue a code on this GET for any live token of the same user and
        # app, whatever the workspace, and saving the code installs the app on this host without consent.
        # A code is only ever issued on the administrator's POST of the consent form.
        query = request.GET.copy()
        query["approval_prompt"] = "force"
        request.GET = query  # type: ignore[assignment]
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        app = context.get("application")
        scopes = list(context.get("scopes") or [])
        context["scope_lines"] = scope_descriptions(scopes)
        context["reads"] = [line for line in context["scope_lines"] if line[0].endswith(":read")]
        context["writes"] = [line for line in context["scope_lines"] if line[0].endswith(":write")]
        context["app"] = app
        tenant: Any = getattr(self.request, "tenant", None)
        context["installation"] = selectors.installation_for(app=app, tenant=tenant) if app else None
        return context


class AppTokenView(TokenView):
    """`POST /oauth/token/`: authorization_code (+ code_verifier) and refresh_token grants."""


class AppRevokeTokenView(RevokeTokenView):
    """`POST /oauth/revoke/` (RFC 7009): 200 whatever the token, so nothing is disclosed."""


@method_decorator(csrf_exempt, name="dispatch")
class IntrospectView(OAuthLibMixin, View):
    """`POST /oauth/introspect/` (RFC 7662), with the app's client credentials: `active` is true only
    for the app's own live token on this workspace (oauthlib's endpoint, our validator's answer)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        core = self.get_oauthlib_core()
        uri, http_method, body, headers = core._extract_params(request)
        headers_out, content, status = self.get_server().create_introspect_response(uri, http_method, body, headers)
        response = HttpResponse(content=content, status=status)
        for key, value in headers_out.items():
            response[key] = value
        return response


@login_required
def installed(request: HttpRequest) -> HttpResponse:
    """Administrators see the apps installed here, what each may read and write, and remove them."""
    member = request_member(request)
    if not member.is_admin:
        raise PermissionDenied
    items = [
        (installation, scope_descriptions(installation.scopes))
        for installation in selectors.installation_list(tenant=request.tenant)  # type: ignore[attr-defined]
    ]
    return render(request, "marketplace/apps/installed.html", {"items": items})


@login_required
@require_POST
def uninstall(request: HttpRequest, installation_id: int) -> HttpResponse:
    member = request_member(request)
    if not member.is_admin:
        raise PermissionDenied
    installation = selectors.installation_get(tenant=request.tenant, installation_id=installation_id)  # type: ignore[attr-defined]
    if installation is None:
        raise Http404
    services.installation_uninstall(tenant=request.tenant, actor=member, installation=installation)  # type: ignore[attr-defined]
    messages.success(
        request, _("%(name)s is uninstalled; its tokens no longer work.") % {"name": installation.app.name}
    )
    return redirect("oauth_apps:installed")
