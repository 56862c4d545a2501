"""Writes of services beyond their form: their tax classes (a change of the service, like a field)."""

from __future__ import annotations

from typing import Any

from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.modules.products.linked import linked_rows_write
from crm_apps.modules.products.services import tax_rows_clean, tax_rows_read
from crm_apps.modules.services.models import Service, ServiceTax


def service_taxes_set(*, actor: Member, service_id: Any, taxes: Any) -> Service:
    """The service's tax classes: which taxes apply to it and at which percent (the whole new list)."""
    cleaned = tax_rows_clean(taxes)

    def write(service: Service) -> None:
        ServiceTax.objects.filter(service=service).delete()
        ServiceTax.objects.bulk_create(
            ServiceTax(service=service, tax=tax, percent=percent, position=index)
            for index, (tax, percent) in enumerate(cleaned)
        )

    service: Service = linked_rows_write(
        spec=registry.get("services"),
        actor=actor,
        record_id=service_id,
        key="taxes",
        read=lambda s: tax_rows_read(ServiceTax.objects.filter(service=s)),
        write=write,
        guarded_by=("unit_price",),
    )
    return service
