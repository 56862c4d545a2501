"""The taxes panel of a service's record page (ModuleSpec.panels)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from crm_apps.access.models import Member
from crm_apps.finance import selectors as finance
from crm_apps.modules.services.models import Service, ServiceTax


def taxes_panel(service: Service, member: Member, request: HttpRequest) -> dict[str, Any]:
    applied = {row.tax_id: row for row in ServiceTax.objects.filter(service=service)}
    return {
        "taxes": [
            {"tax": t, "applied": t.pk in applied, "percent": applied[t.pk].percent if t.pk in applied else t.percent}
            for t in finance.taxes(include_inactive=True)
            if t.active or t.pk in applied
        ]
    }
