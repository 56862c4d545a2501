"""The payments panel of an invoice: its payments, balance and the form to record one."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.modules.invoices.models import Payment


def payments_panel(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    spec = registry.get("invoices")
    rules = field_rules(actor=member, spec=spec)
    if not rules.shows("received"):
        return {}  # the template shows nothing
    return {
        "record": record,
        "payments": list(record.payments.select_related("created_by__user").order_by("paid_on", "id")),
        "can_edit": visibility.can_edit(actor=member, spec=spec, record=record) and record.status != "Cancel",
        "methods": Payment.Method.choices,
        "today": timezone.localdate().isoformat(),
    }
