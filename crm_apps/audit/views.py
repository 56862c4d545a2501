"""The audit screen of tenant admins: events with filters, their CSV export, the retention setting."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Member
from crm_apps.audit.forms import AuditFilterForm, RetentionForm
from crm_apps.audit.models import AuditEvent
from crm_apps.audit.selectors import AuditFilters, audit_event_list, audit_event_queryset, audit_settings_get
from crm_apps.audit.services import EXPORT, audit_log, audit_settings_update
from crm_apps.engine import metadata, registry
from crm_apps.engine.exports import csv_stream, safe_cell
from frontend.forms import form_add_service_errors

View = Callable[..., HttpResponseBase]
EXPORT_LIMIT = 100_000
TEXT_MAX = 300


def _filter_form(request: HttpRequest, members: list[Member]) -> tuple[AuditFilterForm, AuditFilters]:
    actors = [
        (m.pk, m.user.email if m.active else _("%(email)s (inactive)") % {"email": m.user.email}) for m in members
    ]
    modules = [(spec.key, str(spec.label_plural)) for spec in registry.all_specs()]
    params = request.GET.copy()
    params.pop("cursor", None)
    form = AuditFilterForm(params or None, actors=actors, modules=modules)
    if not form.is_bound:
        return form, AuditFilters()
    form.is_valid()
    return form, form.filters()


def _members() -> list[Member]:
    return list(Member.objects.select_related("user").order_by("user__email", "id"))


def _text(value: Any) -> str:
    if value is None or value in ("", [], {}):
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


# Names of the details services record (others, e.g. from newer code, are shown as they are).
DETAIL_LABELS = {
    "via": gettext_lazy("signed in through"),
    "email": gettext_lazy("email"),
    "format": gettext_lazy("format"),
    "rows": gettext_lazy("rows"),
    "view": gettext_lazy("filters"),
    "source": gettext_lazy("source"),
    "setting": gettext_lazy("setting"),
    "key": gettext_lazy("key"),
    "picklist": gettext_lazy("picklist"),
    "value": gettext_lazy("value"),
    "operation": gettext_lazy("operation"),
    "invitation": gettext_lazy("invitation"),
    "invited_by": gettext_lazy("invited by"),
    "tokens_revoked": gettext_lazy("API tokens revoked"),
    "prefix": gettext_lazy("token starts with"),
    "merged": gettext_lazy("merged records"),
    "purged_from_recycle_bin": gettext_lazy("deleted from the recycle bin"),
    "older_than_days": gettext_lazy("older than (days)"),
    "organization": gettext_lazy("organisation"),
    "contact": gettext_lazy("contact"),
    "deal": gettext_lazy("deal"),
    "pipeline_id": gettext_lazy("pipeline"),
    "stages": gettext_lazy("stages"),
}


# Fields of changes that are not a module's fields (settings, members, extensions): their labels.
CHANGE_LABELS = {
    "label": gettext_lazy("label"),
    "labels": gettext_lazy("translations"),
    "value": gettext_lazy("value"),
    "retired": gettext_lazy("retired"),
    "position": gettext_lazy("position"),
    "layout": gettext_lazy("layout"),
    "pipeline": gettext_lazy("pipeline"),
    "members": gettext_lazy("members"),
    "custom_module": gettext_lazy("custom module"),
    "email": gettext_lazy("email"),
    "is_admin": gettext_lazy("administrator"),
    "version": gettext_lazy("version"),
    "role": gettext_lazy("role"),
    "retention_days": gettext_lazy("retention (days)"),
}
# The values of the "setting" detail: what was changed.
SETTING_LABELS = {
    "audit_retention": gettext_lazy("audit retention"),
    "billing": gettext_lazy("billing"),
    "conversion_mapping": gettext_lazy("lead conversion mapping"),
    "custom_field_changed": gettext_lazy("custom field changed"),
    "custom_field_created": gettext_lazy("custom field created"),
    "extension_installed": gettext_lazy("extension installed"),
    "extension_uninstalled": gettext_lazy("extension uninstalled"),
    "layout": gettext_lazy("layout"),
    "numbering": gettext_lazy("numbering"),
    "picklist_value_added": gettext_lazy("picklist value added"),
    "picklist_value_changed": gettext_lazy("picklist value changed"),
    "pipeline_created": gettext_lazy("pipeline created"),
    "pipeline_translated": gettext_lazy("pipeline translated"),
    "sample_data_loaded": gettext_lazy("sample data loaded"),
    "sample_data_removed": gettext_lazy("sample data removed"),
}


class _Labels:
    """Human names of modules, of their standard and custom fields (custom ones loaded once per module),
    and of members for the fields that hold a member id."""

    def __init__(self, members: list[Member]) -> None:
        self.specs = {spec.key: spec for spec in registry.all_specs()}
        self.custom: dict[str, dict[str, str]] = {}
        self.members = {m.pk: m.user.email for m in members}

    def value(self, module: str, name: str, value: Any) -> str:
        spec = self.specs.get(module)
        if spec is not None and isinstance(value, str) and name in spec.picklists:
            # A picklist's stored value, shown as its label in the reader's language.
            return metadata.picklist_labels(spec.picklists[name]).get(value, value)
        if spec is not None and isinstance(value, int) and not isinstance(value, bool):
            try:
                field: Any = spec.model._meta.get_field(name)
            except Exception:
                field = None
            if field is not None and getattr(field.remote_field, "model", None) is Member:
                return self.members.get(value, str(value))
        return _text(value)

    def module(self, key: str) -> str:
        spec = self.specs.get(key)
        return str(spec.label_plural) if spec else key

    def field(self, module: str, name: str) -> str:
        spec = self.specs.get(module)
        if spec is None:
            return str(capfirst(CHANGE_LABELS.get(name, name)))
        if name.startswith("custom."):
            if module not in self.custom:
                fields = metadata.custom_fields(module, include_archived=True)
                self.custom[module] = {f.key: f.label for f in fields}
            return self.custom[module].get(name[7:], name)
        try:
            return str(capfirst(spec.model._meta.get_field(name).verbose_name))  # type: ignore[union-attr]
        except Exception:
            return str(capfirst(CHANGE_LABELS.get(name, name)))


def _row(event: AuditEvent, labels: _Labels) -> dict[str, Any]:
    url = None
    if event.module in labels.specs and event.record_id and event.action != "export":
        try:
            url = reverse("engine:detail", args=[event.module, uuid.UUID(event.record_id)])
        except ValueError:
            url = None
    return {
        "event": event,
        "module": labels.module(event.module) if event.module else "",
        "record_url": url,
        "changes": sorted(
            (
                {
                    "field": labels.field(event.module, name),
                    "old": labels.value(event.module, name, pair[0]),
                    "new": labels.value(event.module, name, pair[1]),
                }
                for name, pair in (event.changes or {}).items()
                if isinstance(pair, list) and len(pair) == 2
            ),
            key=lambda change: change["field"].lower(),
        ),
        "details": sorted(
            (
                str(DETAIL_LABELS.get(key, key)),
                str(SETTING_LABELS.get(value, value)) if key == "setting" else _text(value),
            )
            for key, value in (event.details or {}).items()
        ),
    }


@admin_view
def events(request: HttpRequest, actor: Member) -> HttpResponse:
    members = _members()
    form, filters = _filter_form(request, members)
    cursor = request.GET.get("cursor") or None
    error = None
    try:
        page = audit_event_list(filters=filters, cursor=cursor)
    except ValidationError:
        error = _("This page link is no longer valid; showing the newest events.")
        page = audit_event_list(filters=filters)
    labels = _Labels(members)
    query = request.GET.copy()
    query.pop("cursor", None)
    next_url = None
    if page.next_cursor:
        query["cursor"] = page.next_cursor
        next_url = "?" + query.urlencode()
        query.pop("cursor")
    context = {
        "form": form,
        "rows": [_row(event, labels) for event in page.events],
        "next_url": next_url,
        "first_url": "?" + query.urlencode() if cursor else None,
        "export_query": query.urlencode(),
        "retention_days": audit_settings_get().retention_days,
        "error": error,
    }
    return render(request, "audit/events.html", context)


@admin_view
def export(request: HttpRequest, actor: Member) -> StreamingHttpResponse:
    """The filtered events as CSV, newest first; cells can never run as spreadsheet formulas."""
    _form, filters = _filter_form(request, _members())
    qs = audit_event_queryset(filters=filters)
    count = qs.order_by()[:EXPORT_LIMIT].count()
    view = {k: v[:200] for k, v in list(request.GET.items())[:30]}
    own = audit_log(
        action=EXPORT, actor=actor, details={"source": "audit", "format": "csv", "rows": count, "view": view}
    )
    qs = qs.exclude(pk=own.pk)  # the file holds what was counted, not the record of its own export

    header = [
        _("Time"),
        _("Who"),
        _("Member ID"),
        _("IP address"),
        _("Action"),
        _("Module"),
        _("Record ID"),
        _("Record"),
        _("Changes"),
        _("Details"),
    ]

    def cell(value: Any) -> str:
        return safe_cell("" if value is None else str(value))

    def rows() -> Iterator[list[str]]:
        for event in qs[:EXPORT_LIMIT].iterator(chunk_size=2000):
            yield [
                cell(timezone.localtime(event.at).isoformat()),
                cell(event.actor_label),
                cell(event.actor_id),
                cell(event.ip),
                cell(event.action),
                cell(event.module),
                cell(event.record_id),
                cell(event.record_label),
                cell(json.dumps(event.changes, ensure_ascii=False, sort_keys=True) if event.changes else ""),
                cell(json.dumps(event.details, ensure_ascii=False, sort_keys=True) if event.details else ""),
            ]

    response = StreamingHttpResponse(
        csv_stream(header, rows(), limit=EXPORT_LIMIT), content_type="text/csv; charset=utf-8"
    )
    stamp = formats.date_format(timezone.localtime(), "Y-m-d")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


@admin_view
def retention(request: HttpRequest, actor: Member) -> HttpResponse:
    current = audit_settings_get()
    form = RetentionForm(request.POST or None, initial={"retention_days": current.retention_days})
    if request.method == "POST" and form.is_valid():
        try:
            saved = audit_settings_update(actor=actor, retention_days=form.cleaned_data["retention_days"])
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            days = saved.retention_days
            done = ngettext(
                "Audit events are now kept for %(days)d day.", "Audit events are now kept for %(days)d days.", days
            )
            messages.success(request, done % {"days": days})
            return redirect("audit:events")
    return render(request, "audit/retention.html", {"form": form, "current": current})
