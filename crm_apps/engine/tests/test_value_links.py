"""Links of plain values (click-to-call, the email composer): a linker that says which model fields it applies to
is asked only for those fields' values; custom fields and linkers without `applies` are asked for every value;
the Displayer's per-page plan gives the same cells as asking each time (issue 25)."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_context

from crm_apps.engine import display, registry
from crm_apps.engine.models import CustomField
from crm_apps.modules.contacts.models import Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def linkers(monkeypatch):
    """An empty set of linkers for the test (the installed ones are put back afterwards)."""
    monkeypatch.setattr(display, "_value_linkers", [])
    monkeypatch.setattr(display, "_field_linkers", {})
    return display


def test_a_linker_is_asked_only_for_the_fields_it_applies_to(linkers):
    asked: list[tuple[str, Any]] = []

    def shouty(field: Any, value: Any) -> str | None:
        asked.append((getattr(field, "name", "custom"), value))
        return f"shout:{value}"

    linkers.value_linker_add(shouty, applies=lambda field: field.name == "department")
    department, last_name = Contact._meta.get_field("department"), Contact._meta.get_field("last_name")
    assert linkers.value_link(department, "Bonn") == "shout:Bonn"
    assert linkers.value_link(last_name, "Meyer") is None
    assert linkers.value_link(department, "") is None  # never for empty values
    assert asked == [("department", "Bonn")]
    # A custom field (a row whose type can change) goes to the linker itself.
    custom = CustomField(module="contacts", key="cf_x", label="X", type="text")
    assert linkers.value_link(custom, "x") == "shout:x"
    assert asked[-1] == ("custom", "x")


def test_a_linker_added_later_is_seen_and_one_without_applies_is_asked_for_everything(linkers):
    department = Contact._meta.get_field("department")
    assert linkers.value_link(department, "Bonn") is None  # no linker yet: remembered as none for the field
    linkers.value_linker_add(lambda field, value: f"any:{value}")
    assert linkers.value_link(department, "Bonn") == "any:Bonn"
    assert linkers.value_link(Contact._meta.get_field("last_name"), "Meyer") == "any:Meyer"


def test_installed_linkers_link_phone_and_email_cells_only(tenant_a, admin_of):
    with schema_context(tenant_a.schema_name):
        spec = registry.get("contacts")
        contact = Contact(
            last_name="Meyer",
            email="ann@example.com",
            phone="+49 30 1234",
            department="+49 30 5678",
            owner=admin_of(tenant_a),
        )
        shown = display.Displayer(spec)
        assert shown.value(contact, "phone").url == "tel:+49301234"
        assert (shown.value(contact, "email").url or "").endswith("?to=ann%40example.com")
        assert shown.value(contact, "department").url is None  # digits, but not a phone field
        assert shown.value(contact, "last_name").url is None
        # The page's plan is the same answer on the next row.
        other = Contact(last_name="Roth", phone="", email="", owner=admin_of(tenant_a))
        assert shown.value(other, "phone").url is None
        assert shown.value(other, "email").text == ""
