"""Fixtures of the document tests: a catalogue (taxes, products, a service, a vendor), an organisation
with addresses and a contact, in tenant "alpha", and an admin API client."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django_tenants.utils import tenant_context


@dataclass
class Catalogue:
    vat: Any
    reduced: Any
    hammock: Any
    rope: Any
    install: Any
    vendor: Any
    vendor2: Any
    organization: Any
    contact: Any


def make_catalogue(tenant: Any, owner: Any) -> Catalogue:
    from crm_apps.finance.models import Tax
    from crm_apps.modules.contacts.models import Contact
    from crm_apps.modules.organizations.models import Organization
    from crm_apps.modules.products.models import Product, ProductTax
    from crm_apps.modules.services.models import Service, ServiceTax
    from crm_apps.modules.vendors.models import Vendor

    with tenant_context(tenant):
        vat = Tax.objects.create(name="VAT", percent=Decimal("20"))
        reduced = Tax.objects.create(name="Reduced", percent=Decimal("10"))
        vendor = Vendor.objects.create(number="VEN-T1", name="Ropes Ltd", owner=owner)
        vendor2 = Vendor.objects.create(number="VEN-T2", name="Canvas plc", owner=owner)
        hammock = Product.objects.create(
            number="PRO-T1",
            name="Hammock",
            unit_price=Decimal("120.00"),
            currency="EUR",
            qty_in_stock=Decimal(10),
            reorder_level=Decimal(3),
            vendor=vendor2,
            owner=owner,
        )
        rope = Product.objects.create(
            number="PRO-T2", name="Rope", unit_price=Decimal("9.99"), currency="EUR", vendor=vendor, owner=owner
        )
        ProductTax.objects.create(product=hammock, tax=vat, percent=Decimal("20"))
        ProductTax.objects.create(product=rope, tax=reduced, percent=None)
        install = Service.objects.create(
            number="SER-T1", name="Installation", unit_price=Decimal("50.00"), currency="EUR", owner=owner
        )
        ServiceTax.objects.create(service=install, tax=vat, percent=Decimal("20"))
        organization = Organization.objects.create(
            number="ACC-T1",
            name="Globex",
            billing_street="1 Main St",
            billing_city="Springfield",
            billing_postal_code="12345",
            billing_country="USA",
            shipping_street="2 Dock Rd",
            shipping_city="Shelbyville",
            owner=owner,
        )
        contact = Contact.objects.create(
            number="CON-T1",
            first_name="Ann",
            last_name="Buyer",
            email="ann@globex.example",
            organization=organization,
            owner=owner,
        )
    return Catalogue(vat, reduced, hammock, rope, install, vendor, vendor2, organization, contact)


@pytest.fixture
def catalogue(tenant_a: Any, admin_of: Any) -> Catalogue:
    return make_catalogue(tenant_a, admin_of(tenant_a))


@pytest.fixture
def api(client_for: Any, tenant_a: Any, admin_of: Any) -> Any:
    return client_for(tenant_a, admin_of(tenant_a))


def post(api: Any, path: str, data: Any) -> Any:
    return api.post(path, data, content_type="application/json")


def restricted(
    tenant: Any,
    admin: Any,
    member: Any,
    *,
    flags: dict[str, bool],
    fields: dict[tuple[str, str], str] | None = None,
    modules: dict[str, dict[str, bool]] | None = None,
) -> Any:
    """A member whose only profile has `flags` (default_view, default_edit, view_all...), field access
    {(module, field): "hidden"|"readonly"} and module rights {module: {can_edit: False, ...}}."""
    from crm_apps.access.models import ProfileField, ProfileModule, Role
    from crm_apps.access.services import profile_save, role_create

    with tenant_context(tenant):
        name = f"p{len(flags)}{len(fields or {})}{len(modules or {})}-{id(flags)}"[:90]
        base = {
            "default_view": True,
            "default_create": True,
            "default_edit": True,
            "default_delete": True,
            "view_all": True,
        }
        profile = profile_save(actor=admin, profile=None, name=name, flags={**base, **flags})
        for (module, field), access in (fields or {}).items():
            ProfileField.objects.create(profile=profile, module=module, field=field, access=access)
        for module, rights in (modules or {}).items():
            ProfileModule.objects.create(profile=profile, module=module, **rights)
        role = role_create(
            actor=admin, name=name, parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    return member(tenant, role=role)
