"""The list's and record page's own small screens: saving a list layout with its view, and editing one
field of a record in place (a list cell, a detail field, a board card's amount or date).

An inline edit is the edit form reduced to one field: the same form field (`forms.record_form`, so the
same choices, widgets and field-level rights), the same service (`record_update`, so the same
validation, rights, version check, audit and timeline). A refused or invalid edit changes nothing and
answers with the editor and the error beside the field."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing.entitlements import PlanLimitReached
from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.engine import metadata, selectors, services
from crm_apps.engine.display import Displayer, Shown, custom_shown, record_url
from crm_apps.engine.forms import CUSTOM_PREFIX, form_to_service, record_form
from crm_apps.engine.list_layout import inline_editable
from crm_apps.engine.services.saved_views import saved_view_layout_save
from crm_apps.engine.spec import ModuleSpec
from crm_apps.engine.views import _record_or_404, _spec, error_text


def cell_url(spec: ModuleSpec, record: Any, name: str) -> str:
    return reverse("engine:cell", args=[spec.key, record.pk, name])


def shown_value(spec: ModuleSpec, record: Any, name: str, displayer: Displayer | None = None) -> Shown:
    if name.startswith("custom."):
        field = next((f for f in metadata.custom_fields(spec.key) if f.key == name[7:]), None)
        if field is None:
            raise Http404
        return custom_shown(field, record)
    return (displayer or Displayer(spec)).value(record, name)


def shown_html(shown: Shown, *, link: str | None = None) -> str:
    """A value as a cell shows it: a link to the record (the list's first column), to the value, or text."""
    esc = conditional_escape
    if link:
        return f'<a href="{esc(link)}">{esc(shown.text or "—")}</a>'
    if shown.url:
        return f'<a href="{esc(shown.url)}">{esc(shown.text)}</a>'
    return str(esc(shown.text))


def _form_name(name: str) -> str:
    return CUSTOM_PREFIX + name[7:] if name.startswith("custom.") else name


@login_required
def record_cell(request: HttpRequest, module: str, record_id: uuid.UUID, name: str) -> HttpResponse:
    """GET: the editor of one field; POST: save it through `record_update` and answer with the new value
    (or the editor with the error: 400 invalid, 403 not allowed, 409 changed meanwhile)."""
    spec = _spec(module, request)
    member = request_member(request)
    record = _record_or_404(spec, request, record_id)
    rules = visibility.field_access(actor=member, spec=spec)
    hidden = frozenset(n for n, a in rules.items() if a == "hidden")
    readonly = frozenset(n for n, a in rules.items() if a == "readonly")
    if name in hidden:
        raise Http404
    form_name = _form_name(name)
    link = request.GET.get("link") == "1"
    status, error = 200, ""
    if not inline_editable(spec, name, readonly=readonly, hidden=hidden) or not visibility.can_edit(
        actor=member, spec=spec, record=record
    ):
        status, error = 403, _("You may not change this field.")
    form = record_form(spec, actor=member, record=record, data=request.POST if request.method == "POST" else None)
    if status != 403 and (form_name not in form.fields or form.fields[form_name].disabled):
        status, error = 403, _("You may not change this field.")
    if request.method == "POST" and status == 200:
        saved, status, error = _save_one(spec, member, record, form, form_name, request.POST.get("version"))
        if saved is not None:
            shown = shown_value(spec, saved, name)
            response = HttpResponse(shown_html(shown, link=record_url(spec, saved) if link else None))
            response["X-Record-Version"] = str(saved.version)
            return response
    elif request.method == "POST":
        return HttpResponse(conditional_escape(error), status=status)
    if status == 403:
        return HttpResponse(conditional_escape(error), status=403)
    context = {
        "spec": spec,
        "record": record,
        "name": name,
        "field": form[form_name],
        "error": error,
        "action": f"{cell_url(spec, record, name)}{'?link=1' if link else ''}",
    }
    return render(request, "engine/_cell_editor.html", context, status=status)


def _save_one(
    spec: ModuleSpec, member: Member, record: Any, form: Any, form_name: str, version: str | None
) -> tuple[Any, int, str]:
    """(saved record, 200, "") or (None, status, message): one field written by `record_update`."""
    data, custom = form_to_service(spec, form)
    if form_name.startswith(CUSTOM_PREFIX):
        key = form_name[len(CUSTOM_PREFIX) :]
        data, custom = {}, {key: custom.get(key)}
    elif form_name == "owner":
        data, custom = {k: data[k] for k in ("owner", "owner_group") if k in data}, {}
        if not data:
            return None, 400, _("Choose an owner.")
    else:
        data, custom = {form_name: data.get(form_name, "")}, {}
    expected = int(version) if version and version.isdigit() and len(version) < 10 else None
    try:
        saved = services.record_update(
            spec=spec, actor=member, record=record, data=data, custom=custom or None, expected_version=expected
        )
    except visibility.FieldPermissionDenied:
        return None, 403, _("You may not change this field.")
    except PermissionDenied:
        return None, 403, _("You may not change this record.")
    except services.ConflictError:
        return None, 409, _("Someone else changed this record meanwhile. Reload the page to see their changes.")
    except PlanLimitReached as exc:
        return None, 400, str(exc)
    except ValidationError as exc:
        return None, 400, " ".join(exc.messages)  # one field: its messages, without the field's name
    return saved, 200, ""


@require_POST
@login_required
def list_layout_save(request: HttpRequest, module: str) -> HttpResponse:
    """Save the list's columns, widths, density and page size with the chosen view (`saved`), or as the
    member's own default layout. JSON bodies (the page's script) get JSON back; forms are redirected."""
    spec = _spec(module, request)
    member = request_member(request)
    wants_json = request.content_type == "application/json"
    if wants_json:
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            return HttpResponse(json.dumps({"layout": [_("Send JSON.")]}), status=400, content_type="application/json")
        saved_id = payload.pop("saved", None) if isinstance(payload, dict) else None
    else:
        payload = {
            "columns": request.POST.getlist("columns"),
            "density": request.POST.get("density", "comfortable"),
            "page_size": request.POST.get("page_size", "25"),
            "widths": _widths(request.POST.get("widths", "")),
        }
        saved_id = request.POST.get("saved")
    view = None
    if saved_id:
        view = selectors.saved_view_get(spec=spec, actor=member, view_id=saved_id)
        if view is None:
            raise Http404
    try:
        view = saved_view_layout_save(spec=spec, actor=member, view=view, layout=payload)
    except PermissionDenied:
        if wants_json:
            return HttpResponse(
                json.dumps({"detail": _("Only the view's owner may change it.")}),
                status=403,
                content_type="application/json",
            )
        raise
    except ValidationError as exc:
        if wants_json:
            return HttpResponse(json.dumps(exc.message_dict), status=400, content_type="application/json")
        from django.contrib import messages

        messages.error(request, error_text(exc))
        return redirect("engine:list", module=spec.key)
    if wants_json:
        return HttpResponse(json.dumps({"layout": view.layout}), content_type="application/json")
    target = reverse("engine:list", args=[spec.key])
    return redirect(f"{target}?saved={view.pk}" if not view.is_default else target)


def _widths(raw: str) -> Any:
    """The widths the form carries as JSON (kept when the columns change); unreadable ones are dropped."""
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return {}
