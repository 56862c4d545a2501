"""Endpoints on the tenant host for app frames and their apps.

- `GET  /marketplace/app/context/<installation>/<ext>/<module>/<record>/` (signed-in member who may
  view the record): a fresh context, for the host script's "refresh" and contexts about to expire.
- `POST /marketplace/app/context/verify` (`context=<token>`, no session): the app's server asks whether
  a context is genuine for this workspace; 200 with the payload, 400 with the reason.
- `GET  /marketplace/app/secret` (`Authorization: Token <the installation's token>`): the app's secret,
  to verify contexts and action signatures itself (the OAuth app credentials will replace this hand-over).
- `GET  /marketplace/app/action/<installation>/<record_actions|list_actions>.<key>/<module>/?ids=<id>,...`
  (member who may view the module): the action's frame with the records they chose and may see;
  `&context=1` answers a fresh context instead.
- `GET  /marketplace/app/settings/<installation>/<key>/` (workspace administrators): a settings page's frame.
- `GET  /marketplace/app/frame/<installation>/dashboard_widgets.<key>/context` (member): a widget's fresh context.
- `GET  /marketplace/app/call/<installation>/?number=<number>` (member): a telephony app's click-to-call
  frame, the number in the context (`&context=1`: a fresh context).
- `POST /marketplace/app/field/value` (`{"context", "value"}`, no session): a field type's app saves the
  value of the field its context names, as the context's member, acting via the app (fields.py).
- `GET|POST /marketplace/app/fields/` (workspace administrators): the installed apps' field types; add a
  custom field of one to a module.
- `POST /marketplace/app/trigger` (signed with the app secret, no session): the app reports its event;
  the workflows with that trigger run (triggers.py).
Both calls of the app count in its per-minute budget (429 with Retry-After when over) and get an
`api_call` audit event named after the app, as its API calls do.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.access.services import api_token_authenticate
from crm_apps.audit.context import acting_via_context
from crm_apps.engine import registry
from crm_apps.engine.field_types import PHONE_RE
from marketplace.installs.models import InstallationState
from marketplace.ui import surfaces
from marketplace.ui.context import ContextInvalid, context_payload_unverified, context_verify
from marketplace.ui.fields import app_field_add, app_field_types, app_fields, app_may_write, field_context_extra
from marketplace.ui.models import AppInstall
from marketplace.ui.panels import InstalledApp, context_for
from marketplace.ui.telephony import telephony_app


@login_required
@require_GET
def context_refresh(request: HttpRequest, installation_id: int, ext: str, module: str, record_id: str) -> JsonResponse:
    member = request_member(request)
    app = surfaces.active_app(installation_id)  # installed, and not suspended
    if member is None or app is None:
        raise Http404
    kind, _sep, key = ext.partition(".")
    declared = app.declared(kind)
    if kind == "record_panels" and not any(i["key"] == key and module in i["modules"] for i in declared):
        raise Http404
    if kind not in ("record_panels", "fields"):
        raise Http404
    try:
        spec = registry.get(module)
    except registry.UnknownModule:
        raise Http404 from None
    try:
        queryset = spec.records().filter(pk=record_id)
        record = visibility.visible_records(actor=member, spec=spec, queryset=queryset).first()
    except (ValueError, ValidationError):  # not an id of this module
        record = None
    if record is None:
        raise Http404
    extra = None
    if kind == "fields":
        field = next((f for f, _item in app_fields(app, spec) if f.key == key), None)
        extra = field_context_extra(app=app, field=field, spec=spec, record=record, member=member) if field else None
        if extra is None:
            raise Http404
    token = context_for(app, request=request, member=member, ext=ext, module=module, record_id=record_id, extra=extra)
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


def _wants_context(request: HttpRequest) -> bool:
    """The host script's refresh asks the frame's own page for a fresh context (`?context=1`)."""
    return request.GET.get("context") == "1"


@login_required
@require_GET
def action_page(request: HttpRequest, installation_id: int, ext: str, module: str) -> HttpResponse:
    """A record or list action of an installed app: its frame, given the records (`ids`) the member chose
    and may see. Not found: an app that is not installed (or suspended), an action not declared for the
    module or outside the app's scopes, a module the member may not view, no visible record at all."""
    member = request_member(request)
    app = surfaces.active_app(installation_id)
    kind, _sep, key = ext.partition(".")
    item = surfaces.declared(app, kind, key) if app is not None and kind in ("record_actions", "list_actions") else None
    if member is None or app is None or item is None or not surfaces.action_modules_allowed(app, item, module):
        raise Http404
    try:
        spec = registry.get(module)
    except registry.UnknownModule:
        raise Http404 from None
    if not visibility.can_view_module(actor=member, spec=spec):
        raise Http404
    asked = [one for raw in request.GET.getlist("ids") for one in raw.split(",") if one.strip()]
    if len(asked) > surfaces.MAX_ACTION_RECORDS or (kind == "record_actions" and len(asked) != 1):
        return JsonResponse(
            {
                "ids": [_("Choose at most %(n)d records.") % {"n": surfaces.MAX_ACTION_RECORDS}]
                if kind == "list_actions"
                else [_("Choose one record.")]
            },
            status=400,
        )
    ids = surfaces.visible_ids(member=member, spec=spec, ids=[one.strip() for one in asked])
    if not ids:
        raise Http404
    record_id = ids[0] if kind == "record_actions" else None
    records = ids if kind == "list_actions" else None
    refresh = f"{request.path}?{urlencode({'ids': ','.join(ids), 'context': '1'})}"
    frame = surfaces.frame(
        app,
        item,
        kind=kind,
        request=request,
        member=member,
        refresh=refresh,
        module=module,
        record_id=record_id,
        records=records,
    )
    if _wants_context(request):
        return JsonResponse({"context": frame["context"]})
    back = reverse("engine:list", args=[spec.key])
    crumbs = [(back, spec.label_plural)]
    if record_id is not None:
        crumbs.append((f"{back}{record_id}/", record_id))
    note = (
        ngettext("For %(n)d selected record.", "For %(n)d selected records.", len(ids)) % {"n": len(ids)}
        if records is not None
        else ""
    )
    if records is not None and len(ids) < len(asked):
        note += " " + _("Records you cannot see were left out.")
    return render(
        request, "marketplace_ui/frame_page.html", {"frame": {**frame, "bare": True}, "crumbs": crumbs, "note": note}
    )


@login_required
@require_GET
def settings_page(request: HttpRequest, installation_id: int, key: str) -> HttpResponse:
    """An installed app's settings page, for workspace administrators only."""
    member = request_member(request)
    if member is None or not member.is_admin:
        raise PermissionDenied
    app = surfaces.active_app(installation_id)
    item = surfaces.declared(app, "settings_pages", key) if app is not None else None
    if app is None or item is None:
        raise Http404
    frame = surfaces.frame(
        app, item, kind="settings_pages", request=request, member=member, refresh=f"{request.path}?context=1"
    )
    if _wants_context(request):
        return JsonResponse({"context": frame["context"]})
    crumbs = [(reverse("marketplace:index"), _("Extensions")), (None, app.name)]
    return render(request, "marketplace_ui/frame_page.html", {"frame": {**frame, "bare": True}, "crumbs": crumbs})


@login_required
@require_GET
def frame_context(request: HttpRequest, installation_id: int, ext: str) -> JsonResponse:
    """A fresh context for a dashboard widget's frame (any member: widgets show on any dashboard)."""
    member = request_member(request)
    app = surfaces.active_app(installation_id)
    kind, _sep, key = ext.partition(".")
    item = surfaces.declared(app, kind, key) if app is not None and kind == "dashboard_widgets" else None
    if member is None or app is None or item is None:
        raise Http404
    token = context_for(app, request=request, member=member, ext=ext, module="", record_id=None)
    return JsonResponse({"context": token})


@login_required
@require_GET
def call_page(request: HttpRequest, installation_id: int) -> HttpResponse:
    """Click-to-call through a telephony app: its frame, given the number (and the member) in the context."""
    member = request_member(request)
    app = telephony_app(installation_id)
    click = (app.manifest.get("telephony") or {}).get("click_to_call") if app is not None else None
    if member is None or app is None or not click:
        raise Http404
    number = request.GET.get("number", "").strip()
    if not PHONE_RE.match(number) or sum(c.isdigit() for c in number) < 3:
        return JsonResponse({"number": [_("Enter a valid phone number.")]}, status=400)
    item = {"key": "click_to_call", "label": click["label"], "url": click["url"], "height": click.get("height", 160)}
    refresh = f"{request.path}?{urlencode({'number': number, 'context': '1'})}"
    frame = surfaces.frame(
        app, item, kind="telephony", request=request, member=member, refresh=refresh, extra={"number": number}
    )
    if _wants_context(request):
        return JsonResponse({"context": frame["context"]})
    return render(
        request,
        "marketplace_ui/frame_page.html",
        {"frame": {**frame, "bare": True}, "crumbs": [], "note": _("Calling %(number)s") % {"number": number}},
    )


def _app_budget(request: HttpRequest, app: InstalledApp) -> JsonResponse | None:
    """Count one call of the app in its per-minute budget (marketplace.apps.rate); a 429 when over."""
    from marketplace.apps.rate import installed_app_rate_allows

    tenant = getattr(request, "tenant", None)
    allowed, wait = installed_app_rate_allows(
        listing_id=app.listing_id, installation_id=app.installation_id, tenant_id=getattr(tenant, "pk", 0) or 0
    )
    if allowed:
        return None
    return JsonResponse(
        {"detail": _("This app made too many requests; try again in %(s)d seconds.") % {"s": wait}},
        status=429,
        headers={"Retry-After": str(wait)},
    )


def _audit_app_call(
    request: HttpRequest, app: InstalledApp, *, actor: Any = None, module: str = "", record: str = ""
) -> None:
    """An `api_call` event named after the app (call inside acting_via_context(app.name)), as for its API calls."""
    from crm_apps.audit import services as audit

    audit.audit_log(
        action=audit.API_CALL,
        actor=actor,
        module=module,
        record_id=record,
        details={"method": request.method or "", "path": request.path[:200], "installation": app.installation_id},
    )


@csrf_exempt  # server to server: the signed context (5 minutes, one member, one record, one field) is the credential
@require_POST
def field_value(request: HttpRequest) -> JsonResponse:
    """An app saves the value of the field its context names, as the context's member, acting via the app."""
    from crm_apps.access.models import Member

    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        data = None
    if not isinstance(data, dict):
        return JsonResponse({"non_field_errors": [_("Send a JSON object.")]}, status=400)
    tenant = getattr(getattr(request, "tenant", None), "schema_name", "")
    raw_token = data.get("context")
    token = raw_token if isinstance(raw_token, str) else ""
    try:
        unverified = context_payload_unverified(token)
        installation_id = unverified.get("ins")
        app = surfaces.active_app(installation_id) if isinstance(installation_id, int) else None
        if app is None:
            raise ContextInvalid(_("The signature does not match."))
        payload = context_verify(app.secret, token, tenant=tenant)
    except ContextInvalid as exc:
        return JsonResponse({"context": [str(exc)]}, status=400)
    refused = _app_budget(request, app)
    if refused is not None:
        return refused
    kind, _sep, key = str(payload.get("ext", "")).partition(".")
    member_id = payload.get("member")
    member = (
        Member.objects.filter(pk=member_id, active=True, user__is_active=True).select_related("user").first()
        if isinstance(member_id, int)
        else None
    )
    try:
        spec = registry.get(str(payload.get("module", "")))
    except registry.UnknownModule:
        spec = None
    field = next((f for f, _item in app_fields(app, spec) if f.key == key), None) if spec is not None else None
    if kind != "fields" or member is None or spec is None or field is None:
        return JsonResponse({"context": [_("This context is not for a field.")]}, status=400)
    with acting_via_context(app.name):
        _audit_app_call(request, app, actor=member, module=spec.key, record=str(payload.get("record") or ""))
        return _field_save(
            app=app, spec=spec, field=field, member=member, record_id=payload.get("record"), value=data.get("value")
        )


def _field_save(*, app: InstalledApp, spec: Any, field: Any, member: Any, record_id: Any, value: Any) -> JsonResponse:
    from crm_apps.engine.services import record_update

    try:
        queryset = spec.records().filter(pk=record_id, deleted_at__isnull=True)
        record = visibility.visible_records(actor=member, spec=spec, queryset=queryset).first()
    except (ValueError, ValidationError, TypeError):  # not an id of this module
        record = None
    if record is None:
        return JsonResponse({"detail": _("The record does not exist or was deleted.")}, status=404)
    refused = JsonResponse({"detail": _("You may not change this field.")}, status=403)
    if not app_may_write(app, spec.key):
        return JsonResponse(
            {
                "detail": _("The app may not change %(module)s: it lacks the scope “%(module)s:write”.")
                % {"module": spec.key}
            },
            status=403,
        )
    extra = field_context_extra(app=app, field=field, spec=spec, record=record, member=member)
    if extra is None or not extra["can_edit"]:
        return refused
    try:
        record_update(spec=spec, actor=member, record=record, data={}, custom={field.key: value})
    except PermissionDenied:
        return refused
    except ValidationError as exc:
        return JsonResponse(exc.message_dict if hasattr(exc, "error_dict") else {"value": exc.messages}, status=400)
    record.refresh_from_db()
    return JsonResponse({"value": (record.custom_data or {}).get(field.key)})


@login_required
def fields_page(request: HttpRequest) -> HttpResponse:
    """Administrators: the installed apps' field types, the fields made from them, and a form to add one."""
    member = request_member(request)
    if member is None or not member.is_admin:
        raise PermissionDenied
    types = app_field_types()
    choices = [(f"{app.installation_id}.{item['key']}", f"{item['label']} ({app.name})") for app, item in types]
    specs = {spec.key: spec for spec in registry.all_specs()}
    modules = [specs[m] for m in sorted({m for _app, item in types for m in item["modules"]}) if m in specs]
    errors: dict[str, list[str]] = {}
    values = {"field_type": "", "module": "", "key": "", "label": "", "required": False}
    if request.method == "POST":
        values = {name: request.POST.get(name, "").strip() for name in ("field_type", "module", "key", "label")}
        values["required"] = request.POST.get("required") == "on"
        installation, _sep, type_key = str(values["field_type"]).partition(".")
        try:
            field = app_field_add(
                actor=member,
                installation_id=int(installation) if installation.isdigit() and len(installation) < 12 else 0,
                type_key=type_key,
                module=str(values["module"]),
                key=str(values["key"]),
                label=str(values["label"]),
                required=bool(values["required"]),
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"form": exc.messages}
        else:
            messages.success(request, _("The field “%(label)s” was added.") % {"label": field.label})
            return redirect("marketplace_ui:fields")
    apps = {app.installation_id: app for app, _item in types}
    made = [
        (field, spec.label_plural, app.name)
        for app in apps.values()
        for spec in modules
        for field, _d in app_fields(app, spec)
    ]
    return render(
        request,
        "marketplace_ui/fields.html",
        {
            "choices": choices,
            "modules": [(spec.key, spec.label_plural) for spec in modules],
            "values": values,
            "errors": errors,
            "made": made,
        },
        status=400 if errors else 200,
    )


@csrf_exempt  # server to server: signed with the app secret (triggers.py)
@require_POST
def trigger_report_view(request: HttpRequest) -> JsonResponse:
    """An installed app reports its event: the workflows with that trigger run for the records."""
    from crm_apps.automation.extension import trigger_fire
    from marketplace.ui.triggers import TriggerRefused, trigger_app, trigger_report

    if len(request.body) > 64 * 1024:
        return JsonResponse({"non_field_errors": [_("The report is too large.")]}, status=400)
    signature = request.headers.get("X-CRM-Signature", "")
    try:
        app = trigger_app(
            installation=request.headers.get("X-CRM-Installation", ""), signature=signature, body=request.body
        )
    except TriggerRefused as refused:
        return JsonResponse(refused.errors, status=refused.status)
    over = _app_budget(request, app)
    if over is not None:
        return over
    with acting_via_context(app.name):
        _audit_app_call(request, app)
        try:
            trigger, module, records, data = trigger_report(app=app, signature=signature, body=request.body)
        except TriggerRefused as refused:
            return JsonResponse(refused.errors, status=refused.status)
        workflows = trigger_fire(trigger=trigger, module=module, record_ids=records, data=data)
    return JsonResponse({"trigger": trigger, "records": len(records), "workflows": workflows}, status=202)
