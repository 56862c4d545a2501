"""Customer portal, review of issue 23: stored texts in the workspace's language, notifications only to
members who may see the ticket, archived custom fields leave the publication, the FAQ list's query count,
and a leading tab or carriage return neutralised in exports."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from crm_apps.access.models import Group, Profile, ProfileModule, Role
from crm_apps.audit.models import AuditEvent
from crm_apps.engine import registry
from crm_apps.engine.exports import safe_cell
from crm_apps.engine.models import CustomField, TimelineEntry
from crm_apps.engine.services import record_create
from crm_apps.engine.services.custom_fields import custom_field_create, custom_field_update
from crm_apps.modules.tickets.models import Ticket
from crm_apps.notifications.models import Notification
from crm_apps.portal.models import PortalAccount, PortalSettings
from crm_apps.portal.tests.test_portal import (  # noqa: F401
    make_ticket,
    portal_client,
    setup,
)

pytestmark = pytest.mark.django_db


def test_portal_timeline_text_and_audit_label_are_stored_in_the_workspace_language(tenant_a, setup):  # noqa: F811
    with schema_context(tenant_a.schema_name):
        PortalAccount.objects.update(language="ru")
    ticket = make_ticket(tenant_a, setup["admin"], setup["contact"], title="Language check")
    client = portal_client(tenant_a, "ada@customer.example")
    assert "Профиль" in client.get("/portal/profile/").content.decode()  # the contact reads Russian
    assert client.post("/portal/tickets/", {"title": "Opened in Russian", "description": "x"}).status_code == 302
    assert client.post(f"/portal/tickets/{ticket.pk}/", {"action": "answer", "body": "Привет"}).status_code == 302
    assert client.post(f"/portal/tickets/{ticket.pk}/", {"action": "close"}).status_code == 302
    with schema_context(tenant_a.schema_name):
        texts = [
            change
            for entry in TimelineEntry.objects.filter(data__portal=True)
            for change in entry.data["changes"].items()
        ]
        assert texts and all(key == "Customer portal" for key, _value in texts)
        bodies = [value[1] for _key, value in texts]
        assert any(b.startswith("Opened by ") for b in bodies) and any(b.startswith("Opened ticket ") for b in bodies)
        assert any(" answered: Привет" in b for b in bodies)
        assert Ticket.objects.get(pk=ticket.pk).solution == "Closed by the customer in the portal."
        label = AuditEvent.objects.filter(details__portal="answer").values_list("actor_label", flat=True).get()
        assert label.endswith("(customer portal)")


def test_a_group_owned_ticket_notifies_only_members_who_may_see_it(
    tenant_a,
    tenant_b,
    setup,  # noqa: F811
    member,
    django_capture_on_commit_callbacks,
):
    with schema_context(tenant_a.schema_name):
        no_tickets = Profile.objects.create(name="Sales without tickets", view_all=True)
        ProfileModule.objects.create(
            profile=no_tickets, module="tickets", can_view=False, can_create=False, can_edit=False, can_delete=False
        )
        role = Role.objects.create(name="Sales only", parent=Role.objects.filter(parent__isnull=True).first())
        role.profiles.set([no_tickets])
    agent, salesman = member(tenant_a), member(tenant_a, role=role)
    ticket = make_ticket(tenant_a, setup["admin"], setup["contact"], title="Team ticket ZX1")
    with schema_context(tenant_a.schema_name):
        team = Group.objects.create(name="Mixed team")
        team.members.add(agent, salesman)
        Ticket.objects.filter(pk=ticket.pk).update(owner=None, owner_group=team)
    client = portal_client(tenant_a, "ada@customer.example")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/portal/tickets/{ticket.pk}/", {"action": "answer", "body": "News?"}).status_code == 302
    with schema_context(tenant_a.schema_name):
        told = set(Notification.objects.filter(kind="portal_activity").values_list("recipient", flat=True))
    assert told == {agent.pk}
    with schema_context(tenant_b.schema_name):
        assert not Notification.objects.filter(kind="portal_activity").exists()


def test_an_archived_custom_field_is_not_published_again_when_restored(tenant_a, setup, client_for):  # noqa: F811
    admin = setup["admin"]
    with schema_context(tenant_a.schema_name):
        custom_field_create(actor=admin, spec=registry.get("invoices"), key="po_ref", label="PO ref", type="text")
        custom_field_create(actor=admin, spec=registry.get("invoices"), key="kept", label="Kept", type="text")
        record_create(
            spec=registry.get("invoices"),
            actor=admin,
            data={"subject": "April", "contact": setup["contact"].pk},
            custom={"po_ref": "PO-Q17", "kept": "KEPT-Q18"},
        )
    api = client_for(tenant_a, admin)
    chosen = {"invoices": ["subject", "custom.po_ref", "custom.kept"]}
    assert (
        api.patch("/api/v1/portal/settings", {"published_fields": chosen}, content_type="application/json").status_code
        == 200
    )
    portal = portal_client(tenant_a, "ada@customer.example")
    assert "PO-Q17" in portal.get("/portal/records/invoices/").content.decode()

    with schema_context(tenant_a.schema_name):
        field = CustomField.objects.get(key="po_ref")
        custom_field_update(actor=admin, field=field, archived=True)
        assert PortalSettings.objects.get().published_fields["invoices"] == ["subject", "custom.kept"]
        custom_field_update(actor=admin, field=CustomField.objects.get(key="po_ref"), archived=False)
    listing = portal.get("/portal/records/invoices/").content.decode()
    assert "PO-Q17" not in listing and "KEPT-Q18" in listing  # restored, but not published again by itself
    assert api.get("/api/v1/portal/settings").json()["published_fields"]["invoices"] == ["subject", "custom.kept"]


def test_the_faq_list_with_products_published_costs_the_same_queries_for_any_number_of_entries(
    tenant_a,
    setup,  # noqa: F811
    client_for,
):
    admin = setup["admin"]
    api = client_for(tenant_a, admin)
    published = {"published_fields": {"faq": ["category", "product"]}}
    assert api.patch("/api/v1/portal/settings", published, content_type="application/json").status_code == 200
    portal = portal_client(tenant_a, "ada@customer.example")

    def add_entries(count: int, start: int) -> None:
        with schema_context(tenant_a.schema_name):
            for n in range(start, start + count):
                product = record_create(spec=registry.get("products"), actor=admin, data={"name": f"Product Q{n}"})
                record_create(
                    spec=registry.get("faq"),
                    actor=admin,
                    data={"question": f"Question {n}?", "answer": "Yes.", "status": "Published", "product": product.pk},
                )

    def queries() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            page = portal.get("/portal/faq/")
        assert page.status_code == 200
        return len(captured), page.content.decode()

    add_entries(1, 0)
    one, _page = queries()
    add_entries(4, 1)
    five, page = queries()
    assert all(f"Product Q{n}" in page for n in range(5))
    assert five == one


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("\t=1+1", "'\t=1+1"),
        ("\r=HYPERLINK(1)", "'\r=HYPERLINK(1)"),
        ("\tplain", "'\tplain"),
        ("=1", "'=1"),
        ("a\tb", "a\tb"),
        ("\x00=1", "'=1"),
    ],
)
def test_safe_cell_neutralises_a_leading_tab_or_carriage_return(value, expected):
    assert safe_cell(value) == expected
