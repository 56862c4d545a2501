from __future__ import annotations

from typing import Any

from django_tenants.utils import schema_context

from crm_apps.audit.models import AuditEvent


def events(tenant: Any, **filters: Any) -> list[AuditEvent]:
    """The tenant's audit events matching `filters`, oldest first."""
    with schema_context(tenant.schema_name):
        return list(AuditEvent.objects.filter(**filters).order_by("at", "id"))


def only(tenant: Any, **filters: Any) -> AuditEvent:
    found = events(tenant, **filters)
    assert len(found) == 1, [(e.action, e.module, e.record_id, e.details) for e in found]
    return found[0]
