from __future__ import annotations

from typing import Any

from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create


def contact(tenant: Any, actor: Any, email: str = "ann@customer.test", **extra: Any) -> Any:
    with tenant_context(tenant):
        return record_create(
            spec=registry.get("contacts"),
            actor=actor,
            data={"first_name": "Ann", "last_name": "Stone", "email": email, **extra},
        )


def ticket(tenant: Any, actor: Any, **data: Any) -> Any:
    with tenant_context(tenant):
        return record_create(spec=registry.get("tickets"), actor=actor, data={"title": "Printer E42", **data})
