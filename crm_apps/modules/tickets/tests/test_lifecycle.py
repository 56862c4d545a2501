"""A ticket's life through the API: open, internal note, public reply (refused without a contact address),
close only with a solution, reopen on the customer's answer, merge duplicates, turn into an FAQ entry;
and the same endpoints from another workspace."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.modules.tickets.models import Ticket, TicketReply
from crm_apps.modules.tickets.services import ticket_reply, tickets_merge
from crm_apps.modules.tickets.tests.helpers import contact, ticket

pytestmark = pytest.mark.django_db


def test_a_ticket_opens_with_a_tt_number_and_closes_only_with_a_solution(client_for, tenant_a, admin_of):
    api = client_for(tenant_a, admin_of(tenant_a))
    created = api.post(
        "/api/v1/tickets/", {"title": "Printer E42", "priority": "High"}, content_type="application/json"
    ).json()
    url = f"/api/v1/tickets/{created['id']}"

    no_solution = api.post(f"{url}/close", {"solution": "  "}, content_type="application/json")
    patched = api.patch(f"{url}/", {"status": "Closed"}, content_type="application/json")
    with tenant_context(tenant_a):
        unchanged = Ticket.objects.get(pk=created["id"])
    closed = api.post(f"{url}/close", {"solution": "Replaced the fuser."}, content_type="application/json")
    again = api.post(f"{url}/close", {"solution": "Twice"}, content_type="application/json")

    assert created["number"].startswith("TT") and created["status"] == "Open"
    assert no_solution.status_code == 400 and list(no_solution.json()) == ["solution"]
    assert patched.status_code == 400 and list(patched.json()) == ["solution"]
    assert (unchanged.status, unchanged.version, unchanged.closed_at) == ("Open", 1, None)
    assert closed.status_code == 200
    body = closed.json()
    assert (body["status"], body["solution"], body["version"]) == ("Closed", "Replaced the fuser.", 2)
    assert body["closed_at"] is not None
    assert again.status_code == 400 and list(again.json()) == ["status"]


def test_internal_notes_and_refused_public_replies(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    record = ticket(tenant_a, admin)  # no contact
    api = client_for(tenant_a, admin)
    url = f"/api/v1/tickets/{record.pk}/replies"

    note = api.post(url, {"body": "Checked the logs.", "public": False}, content_type="application/json")
    public = api.post(url, {"body": "Hello", "public": True}, content_type="application/json")
    empty = api.post(url, {"body": " ", "public": False}, content_type="application/json")
    not_bool = api.post(url, {"body": "x", "public": "yes"}, content_type="application/json")
    listed = api.get(url).json()["results"]

    assert note.status_code == 201
    assert {k: note.json()[k] for k in ("kind", "public", "body", "email")} == {
        "kind": "note",
        "public": False,
        "body": "Checked the logs.",
        "email": None,
    }
    assert public.status_code == 400 and list(public.json()) == ["public"]
    assert empty.status_code == 400 and list(empty.json()) == ["body"]
    assert not_bool.status_code == 400 and list(not_bool.json()) == ["public"]
    assert [r["body"] for r in listed] == ["Checked the logs."]
    with tenant_context(tenant_a):
        record.refresh_from_db()
        assert record.first_response_at is None  # a note is no response to the customer


def test_a_reply_without_a_mailbox_writes_nothing(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    person = contact(tenant_a, admin)
    record = ticket(tenant_a, admin, contact=str(person.pk))

    response = client_for(tenant_a, admin).post(
        f"/api/v1/tickets/{record.pk}/replies", {"body": "Hello", "public": True}, content_type="application/json"
    )

    assert response.status_code == 400 and list(response.json()) == ["mailbox"]
    with tenant_context(tenant_a):
        assert TicketReply.objects.filter(ticket=record).count() == 0
        record.refresh_from_db()
        assert (record.first_response_at, record.version) == (None, 1)


def test_replies_and_closing_are_404_from_another_workspace_and_change_nothing(
    client_for, tenant_a, tenant_b, admin_of
):
    record = ticket(tenant_a, admin_of(tenant_a))
    other = client_for(tenant_b, admin_of(tenant_b))

    replies = other.post(
        f"/api/v1/tickets/{record.pk}/replies", {"body": "x", "public": False}, content_type="application/json"
    )
    close = other.post(f"/api/v1/tickets/{record.pk}/close", {"solution": "x"}, content_type="application/json")
    faq = other.post(f"/api/v1/tickets/{record.pk}/to-faq")
    page = client_for(tenant_b, admin_of(tenant_b)).get(f"/support/tickets/{record.pk}/close/")

    assert (replies.status_code, close.status_code, faq.status_code, page.status_code) == (404, 404, 404, 404)
    with tenant_context(tenant_a):
        record.refresh_from_db()
        assert (record.status, record.version, TicketReply.objects.count()) == ("Open", 1, 0)


def test_members_without_the_edit_right_cannot_reply_or_close(client_for, tenant_a, admin_of, member):
    from crm_apps.access.services import sharing_default_set

    admin = admin_of(tenant_a)
    record = ticket(tenant_a, admin)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="tickets", access="public_read")
    reader = client_for(tenant_a, member(tenant_a))

    reply = reader.post(
        f"/api/v1/tickets/{record.pk}/replies", {"body": "x", "public": False}, content_type="application/json"
    )
    close = reader.post(f"/api/v1/tickets/{record.pk}/close", {"solution": "x"}, content_type="application/json")
    seen = reader.get(f"/api/v1/tickets/{record.pk}/replies")

    assert (reply.status_code, close.status_code, seen.status_code) == (403, 403, 200)
    with tenant_context(tenant_a):
        record.refresh_from_db()
        assert (record.status, TicketReply.objects.filter(ticket=record).count()) == ("Open", 0)


def test_merging_duplicates_moves_their_conversation_to_the_primary(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    primary = ticket(tenant_a, admin, title="Printer E42")
    duplicate = ticket(tenant_a, admin, title="Printer error E42 again")
    with tenant_context(tenant_a):
        ticket_reply(actor=admin, ticket=duplicate, body="Same printer, other floor.", public=False)

        merged = tickets_merge(actor=admin, primary=primary, duplicates=[duplicate])

        duplicate.refresh_from_db()
        bodies = list(TicketReply.objects.filter(ticket=merged).values_list("body", flat=True))
    assert merged.pk == primary.pk
    assert duplicate.deleted_at is not None
    assert bodies == ["Same printer, other floor.", f"Merged duplicates: {duplicate.number}"]


def test_a_solved_ticket_becomes_a_draft_faq_entry_listing_it(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    record = ticket(tenant_a, admin, title="How to clear error E42?")
    api = client_for(tenant_a, admin)
    unsolved = api.post(f"/api/v1/tickets/{record.pk}/to-faq")
    api.post(
        f"/api/v1/tickets/{record.pk}/close",
        {"solution": "Open the rear cover <b>and</b> remove the sheet."},
        content_type="application/json",
    )

    created = api.post(f"/api/v1/tickets/{record.pk}/to-faq")
    related = api.get(f"/api/v1/faq/{created.json()['id']}/tickets/")

    assert unsolved.status_code == 400 and list(unsolved.json()) == ["solution"]
    assert created.status_code == 201
    faq = created.json()
    assert (faq["question"], faq["status"], faq["number"][:3]) == ("How to clear error E42?", "Draft", "FAQ")
    assert faq["answer"] == "<p>Open the rear cover &lt;b&gt;and&lt;/b&gt; remove the sheet.</p>"
    assert [r["id"] for r in related.json()["results"]] == [str(record.pk)]
    with tenant_context(tenant_a):
        assert TimelineEntry.objects.filter(module="faq", record_id=faq["id"], kind="created").count() == 1


def test_faq_answers_are_sanitised_and_searchable(client_for, tenant_a, admin_of):
    api = client_for(tenant_a, admin_of(tenant_a))
    created = api.post(
        "/api/v1/faq/",
        {"question": "Reset the router", "answer": '<p onclick="x()">Hold <b>reset</b><script>alert(1)</script></p>'},
        content_type="application/json",
    ).json()
    found = api.get("/api/v1/faq/?search=router").json()["results"]

    assert created["answer"] == "<p>Hold <b>reset</b></p>"
    assert [r["id"] for r in found] == [created["id"]]


def test_the_ticket_api_is_in_the_openapi_schema(client_for, tenant_a, admin_of):
    schema = client_for(tenant_a, admin_of(tenant_a)).get("/api/v1/schema/?format=json").json()

    paths = schema["paths"]
    for path in (
        "/api/v1/tickets/",
        "/api/v1/tickets/{record_id}/replies",
        "/api/v1/tickets/{record_id}/close",
        "/api/v1/faq/",
        "/api/v1/service-contracts/",
        "/api/v1/assets/",
        "/api/v1/sla-policies/",
        "/api/v1/business-hours/",
    ):
        assert path in paths, path
    assert set(paths["/api/v1/tickets/{record_id}/replies"]) >= {"get", "post"}
    request = paths["/api/v1/tickets/{record_id}/close"]["post"]["requestBody"]["content"]["application/json"]
    assert request["schema"]["$ref"].endswith("TicketClose")


def test_spec_numbers_tickets_with_tt():
    assert registry.get("tickets").number_prefix == "TT"


def test_merge_through_the_api_needs_visible_duplicates(client_for, tenant_a, tenant_b, admin_of):
    admin = admin_of(tenant_a)
    primary, duplicate = ticket(tenant_a, admin, title="One"), ticket(tenant_a, admin, title="Two")
    foreign = ticket(tenant_b, admin_of(tenant_b), title="Elsewhere")
    api = client_for(tenant_a, admin)
    url = f"/api/v1/tickets/{primary.pk}/merge"

    empty = api.post(url, {"duplicates": []}, content_type="application/json")
    other_tenant = api.post(url, {"duplicates": [str(foreign.pk)]}, content_type="application/json")
    merged = api.post(url, {"duplicates": [str(duplicate.pk)]}, content_type="application/json")

    assert empty.status_code == 400 and list(empty.json()) == ["duplicates"]
    assert other_tenant.status_code == 400 and list(other_tenant.json()) == ["ids"]
    assert merged.status_code == 200 and merged.json()["id"] == str(primary.pk)
    assert api.get(f"/api/v1/tickets/{duplicate.pk}/").status_code == 404


def test_hidden_fields_stay_hidden_in_action_answers_and_faq_conversion(client_for, tenant_a, admin_of, member):
    from crm_apps.access.models import Profile, ProfileField

    admin = admin_of(tenant_a)
    agent = member(tenant_a)
    with tenant_context(tenant_a):
        for profile in Profile.objects.filter(roles__members=agent):
            ProfileField.objects.create(profile=profile, module="tickets", field="solution", access="hidden")
    record = ticket(tenant_a, admin, title="Secret fix", owner=agent.pk)
    client_for(tenant_a, admin).post(
        f"/api/v1/tickets/{record.pk}/close", {"solution": "The secret"}, content_type="application/json"
    )
    api = client_for(tenant_a, agent)

    detail = api.get(f"/api/v1/tickets/{record.pk}/").json()
    faq = api.post(f"/api/v1/tickets/{record.pk}/to-faq")
    note = api.post(
        f"/api/v1/tickets/{record.pk}/replies", {"body": "x", "public": False}, content_type="application/json"
    )
    other = ticket(tenant_a, admin, title="Theirs", owner=agent.pk)
    closing = api.post(f"/api/v1/tickets/{other.pk}/close", {"solution": "mine"}, content_type="application/json")
    assigned = api.post(f"/api/v1/tickets/{other.pk}/assign-next")

    assert "solution" not in detail
    assert faq.status_code == 403
    assert note.status_code == 201
    assert closing.status_code == 403  # a hidden field cannot be written
    assert assigned.status_code == 400 and list(assigned.json()) == ["team"]
