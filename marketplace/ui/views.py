"""Endpoints on the tenant host for app frames and their apps.

- `GET  /marketplace/app/context/<installation>/<ext>/<module>/<record>/` (signed-in member who may
  view the record): a fresh context, for the host script's "refresh" and contexts about to expire.
- `POST /marketplace/app/context/verify` (`context=<token>`, no session): the app's server asks whether
  a context is genuine for this workspace; 200 with the payload, 400 with the reason.
- `GET  /marketplace/app/secret` (`Authorization: Token <the installation's token>`): the app's secret,
  to verify contexts and action signatures itself (the OAuth app credentials will replace this hand-over).
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.access.services import api_token_authenticate
from crm_apps.engine import registry
from marketplace.installs.models import InstallationState
from marketplace.ui.context import ContextInvalid, context_payload_unverified, context_verify
from marketplace.ui.models import AppInstall
from marketplace.ui.panels import InstalledApp, context_for


@login_required
@require_GET
def context_refresh(request: HttpRequest, installation_id: int, ext: str, module: str, record_id: str) -> JsonResponse:
    member = request_member(request)
    app = (
        AppInstall.objects.select_related("installation")
        .filter(installation_id=installation_id, installation__state=InstallationState.INSTALLED)
        .first()
    )
    if member is None or app is None:
        raise Http404
    kind, _sep, key = ext.partition(".")
    declared = (app.installation.manifest.get("ui") or {}).get(kind) or []
    if kind != "record_panels" or not any(i["key"] == key and module in i["modules"] for i in declared):
        raise Http404
    try:
        spec = registry.get(module)
    except registry.UnknownModule:
        raise Http404 from None
    try:
        queryset = spec.records().filter(pk=record_id)
        visible = visibility.visible_records(actor=member, spec=spec, queryset=queryset).exists()
    except (ValueError, ValidationError):  # not an id of this module
        visible = False
    if not visible:
        raise Http404
    token = context_for(
        InstalledApp.of(app), request=request, member=member, ext=ext, module=module, record_id=record_id
    )
    return JsonResponse({"context": token})


def _body_value(request: HttpRequest, name: str) -> str:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return ""
        value = data.get(name) if isinstance(data, dict) else None
        return value if isinstance(value, str) else ""
    return str(request.POST.get(name, ""))


@csrf_exempt  # called server to server by the app, with no session; the context is the credential
@require_POST
def context_check(request: HttpRequest) -> JsonResponse:
    token = _body_value(request, "context")
    tenant = getattr(getattr(request, "tenant", None), "schema_name", "")
    try:
        unverified = context_payload_unverified(token)
        installation_id = unverified.get("ins")
        app = (
            AppInstall.objects.select_related("installation")
            .filter(installation_id=installation_id, installation__state=InstallationState.INSTALLED)
            .first()
            if isinstance(installation_id, int)
            else None
        )
        if app is None:
            raise ContextInvalid(_("The signature does not match."))
        payload = context_verify(app.secret, token, tenant=tenant)
    except ContextInvalid as exc:
        return JsonResponse({"context": [str(exc)]}, status=400)
    return JsonResponse({"valid": True, "payload": payload})


@require_GET
def app_secret(request: HttpRequest) -> JsonResponse:
    header = request.headers.get("Authorization", "")
    scheme, _sep, key = header.partition(" ")
    token = api_token_authenticate(key=key.strip()) if scheme.lower() == "token" and key.strip() else None
    app = (
        AppInstall.objects.select_related("installation")
        .filter(installation__token_id=token.pk, installation__state=InstallationState.INSTALLED)
        .first()
        if token is not None
        else None
    )
    if app is None:
        return JsonResponse({"detail": _("Send the installation's token: Authorization: Token <key>.")}, status=401)
    return JsonResponse({"secret": app.secret, "origin": app.origin, "installation": app.installation_id})
