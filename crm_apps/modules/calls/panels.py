"""Panels: the calls of a contact, lead or organisation; the records a call matched."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import extensions, registry
from crm_apps.engine.display import record_url
from crm_apps.engine.spec import ModuleSpec
from crm_apps.modules.calls.models import Call, CallMatch
from crm_apps.modules.calls.phones import MATCH_MODULES


def record_calls_applies(spec: ModuleSpec) -> bool:
    return spec.key in MATCH_MODULES


def record_calls_linked(spec: ModuleSpec) -> dict[str, QuerySet[Any]]:
    """The calls matched to a record of `spec`, whoever may see them (`Panel.linked`)."""
    return {"calls": CallMatch.objects.filter(module=spec.key, record_id=OuterRef("pk"))}


# What the panel shows of a call (calls/_record_calls_panel.html) and orders by.
PANEL_FIELDS = ("direction", "status", "started_at", "duration", "notes", "created_at", "member__user__name")


def record_calls_panel(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    """The latest calls of this record the member may see, and whether they may log one."""
    spec = registry.get("calls")
    if not visibility.can_view_module(actor=member, spec=spec):
        return {"hidden": True}
    module = registry.spec_for_record(record).key
    rows: list[Call] = []
    if extensions.may_have_rows(record, "record_calls", "calls"):
        calls = visibility.visible_records(actor=member, spec=spec, queryset=spec.records()).filter(
            deleted_at__isnull=True, matches__module=module, matches__record_id=record.pk
        )
        rows = list(
            calls.select_related("member__user").only(*PANEL_FIELDS).order_by("-started_at", "-created_at")[:20]
        )
    return {
        "hidden": False,
        "calls": [(c, record_url(spec, c)) for c in rows],
        "can_log": visibility.can_create(actor=member, spec=spec),
        "module": module,
    }


def call_matches_panel(call: Call, member: Member, request: HttpRequest) -> dict[str, Any]:
    """The records the call's number matched that the member may see (several: ambiguous)."""
    matches = list(CallMatch.objects.filter(call=call).order_by("pk").values_list("module", "record_id"))
    shown = []
    by_module: dict[str, list[Any]] = {}
    for module, record_id in matches:
        by_module.setdefault(module, []).append(record_id)
    for module, ids in by_module.items():
        try:
            spec = registry.get(module)
        except registry.UnknownModule:
            continue
        if not visibility.can_view_module(actor=member, spec=spec):
            continue
        visible = visibility.visible_records(actor=member, spec=spec, queryset=spec.records()).filter(
            pk__in=ids, deleted_at__isnull=True
        )
        shown += [(spec.label, str(r), record_url(spec, r)) for r in visible]
    return {"matches": shown, "ambiguous": len(shown) > 1}
