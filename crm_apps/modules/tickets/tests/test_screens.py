"""The ticket screens: open a ticket from a contact, the ticket page with its SLA and conversation panels,
replying, closing with a solution, turning it into an FAQ entry, the SLA settings; and pinned queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape
from django_tenants.utils import tenant_context

from conftest import statements
from crm_apps.engine.defaults import crm_defaults_install
from crm_apps.modules.tickets.models import Ticket, TicketReply
from crm_apps.modules.tickets.tests.helpers import contact, ticket
from crm_apps.support.models import BusinessHours, SlaPolicy

pytestmark = pytest.mark.django_db


def test_open_a_ticket_from_a_contact_then_note_close_and_turn_into_faq(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    person = contact(tenant_a, admin)
    web = client_for(tenant_a, admin)

    contact_page = web.get(f"/m/contacts/{person.pk}/").content.decode()
    form = web.get(f"/support/tickets/new/?contact={person.pk}")
    refused = web.post(f"/support/tickets/new/?contact={person.pk}", {"title": ""})
    opened = web.post(f"/support/tickets/new/?contact={person.pk}", {"title": "Broken scanner", "priority": "High"})
    with tenant_context(tenant_a):
        record = Ticket.objects.get(title="Broken scanner")
    page = web.get(f"/m/tickets/{record.pk}/").content.decode()
    web.post(f"/support/tickets/{record.pk}/reply/", {"body": "Asked the customer for a photo.", "public": "0"})
    with_note = web.get(f"/m/tickets/{record.pk}/")
    no_solution = web.post(f"/support/tickets/{record.pk}/close/", {"solution": ""})
    closed = web.post(f"/support/tickets/{record.pk}/close/", {"solution": "Reinstalled the driver."})
    faq = web.post(f"/support/tickets/{record.pk}/faq/")

    assert f"/support/tickets/new/?contact={person.pk}" in contact_page
    assert form.status_code == 200 and "Ann Stone" in form.content.decode()
    assert refused.status_code == 400
    assert opened.status_code == 302 and opened["Location"] == f"/m/tickets/{record.pk}/"
    assert (record.contact_id, record.priority, record.number[:2]) == (person.pk, "High", "TT")
    assert 'id="conversation"' in page and "Close with solution" in page
    assert with_note.status_code == 200 and "Asked the customer for a photo." in with_note.content.decode()
    assert (
        no_solution.status_code == 400
        and "Enter the solution before closing the ticket." in no_solution.content.decode()
    )
    assert closed.status_code == 302
    with tenant_context(tenant_a):
        record.refresh_from_db()
        notes = list(TicketReply.objects.filter(ticket=record).values_list("kind", "body"))
    assert (record.status, record.solution) == ("Closed", "Reinstalled the driver.")
    assert notes == [("note", "Asked the customer for a photo.")]
    assert faq.status_code == 302 and faq["Location"] == f"/m/faq/{record.faq_id}/"


def test_a_ticket_page_shows_its_sla_badge_and_costs_a_pinned_number_of_queries(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        SlaPolicy.objects.create(name="Normal", priority="Normal", first_response_minutes=60, resolution_minutes=480)
    record = ticket(tenant_a, admin, contact=str(contact(tenant_a, admin).pk))
    web = client_for(tenant_a, admin)
    web.get(f"/m/tickets/{record.pk}/")

    with CaptureQueriesContext(connection) as captured:
        response = web.get(f"/m/tickets/{record.pk}/")

    assert 'data-sla-status="On track"' in response.content.decode()
    # Session with member and user, the ticket (its references joined; with whether the member follows it and whether
    # the activities, documents and comments have any rows: none, so they are not read), the SLA panel's
    # policy, the conversation's replies, timeline (the recent view is a Redis write, ADR 0047).
    assert len(statements(captured)) == 5, [q[:100] for q in statements(captured)]


def test_sla_settings_save_policies_business_hours_and_refuse_bad_hours(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    web = client_for(tenant_a, admin)

    denied = client_for(tenant_a, member(tenant_a)).get("/settings/support/sla/")
    saved = web.post(
        "/settings/support/sla/",
        {
            "form": "policy",
            "name": "Urgent",
            "priority": "Urgent",
            "first_response_minutes": "15",
            "resolution_minutes": "120",
        },
    )
    bad = web.post(
        "/settings/support/sla/",
        {"form": "hours", "name": "Office", "time_zone": "Europe/Berlin", "week_0": "17:00-09:00"},
    )
    hours = web.post(
        "/settings/support/sla/",
        {
            "form": "hours",
            "name": "Office",
            "time_zone": "Europe/Berlin",
            "week_0": "09:00-12:00, 13:00-17:00",
            "holiday_date": "2027-01-01",
            "holiday_name": "New Year",
        },
    )
    page = web.get("/settings/support/sla/")

    assert denied.status_code == 403
    assert (saved.status_code, bad.status_code, hours.status_code, page.status_code) == (302, 400, 302, 200)
    with tenant_context(tenant_a):
        policy = SlaPolicy.objects.get()
        calendar = BusinessHours.objects.get()
        assert (policy.priority, policy.first_response_minutes, policy.resolution_minutes) == ("Urgent", 15, 120)
        assert calendar.week == {"0": [["09:00", "12:00"], ["13:00", "17:00"]]}
        assert [str(h.date) for h in calendar.holidays.all()] == ["2027-01-01"]


def test_the_board_shows_tickets_by_status_and_refuses_closing_without_a_solution(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    record = ticket(tenant_a, admin, title="On the board")
    web = client_for(tenant_a, admin)

    board = web.get("/m/tickets/board/")
    refused = web.post(f"/m/tickets/{record.pk}/board-move/", {"value": "Closed"}, HTTP_HX_REQUEST="true")
    moved = web.post(f"/m/tickets/{record.pk}/board-move/", {"value": "In Progress"}, HTTP_HX_REQUEST="true")

    columns = [c["value"] for c in board.context["columns"]]
    assert columns == ["Open", "In Progress", "Wait For Response", "Closed"]
    assert refused.status_code == 400
    assert moved.status_code == 200
    with tenant_context(tenant_a):
        record.refresh_from_db()
        assert record.status == "In Progress"


def test_the_ticket_list_shows_sla_states_as_coloured_badges(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        crm_defaults_install()  # as at signup (and `manage.py crm_install_defaults` for older workspaces)
        SlaPolicy.objects.create(name="High", priority="High", first_response_minutes=60, resolution_minutes=480)
    ticket(tenant_a, admin, title="With a policy", priority="High")
    ticket(tenant_a, admin, title="Without one", priority="Low")

    page = client_for(tenant_a, admin).get("/m/tickets/").content.decode()

    assert page.count('<span class="badge badge--tone" style="--tone: #1a7f37">On track</span>') == 1


@pytest.mark.parametrize("module", ["faq", "service-contracts", "assets"])
def test_the_other_support_modules_have_their_pages(client_for, tenant_a, admin_of, module):
    from crm_apps.engine import registry
    from crm_apps.engine.services import record_create

    admin = admin_of(tenant_a)
    spec = registry.get(module)
    with tenant_context(tenant_a):
        record = record_create(spec=spec, actor=admin, data=dict(spec.example))
    web = client_for(tenant_a, admin)

    listing, detail, form = web.get(f"/m/{module}/"), web.get(f"/m/{module}/{record.pk}/"), web.get(f"/m/{module}/new/")

    assert (listing.status_code, detail.status_code, form.status_code) == (200, 200, 200)
    assert escape(str(record)) in detail.content.decode()


def test_the_faq_page_shows_the_answer_as_formatted_text(client_for, tenant_a, admin_of):
    from crm_apps.engine import registry
    from crm_apps.engine.services import record_create

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        faq = record_create(
            spec=registry.get("faq"),
            actor=admin,
            data={"question": "Reset?", "answer": "<p>Hold <strong>reset</strong></p><img src=x onerror=alert(1)>"},
        )

    page = client_for(tenant_a, admin).get(f"/m/faq/{faq.pk}/").content.decode()

    assert '<div class="prose"><p>Hold <strong>reset</strong></p><img src="x"></div>' in page
    assert "onerror" not in page
    # the answer is not repeated as markup text in the field blocks; the edit form still has it
    assert "&lt;p&gt;Hold" not in page
    form = client_for(tenant_a, admin).get(f"/m/faq/{faq.pk}/edit/").content.decode()
    assert 'name="answer"' in form


def test_the_ticket_form_picks_a_team_among_groups_and_keeps_it(client_for, tenant_a, admin_of):
    from crm_apps.access.models import Group

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        team = Group.objects.create(name="Hardware desk")
    record = ticket(tenant_a, admin, title="Team form")
    web = client_for(tenant_a, admin)

    form = web.get(f"/m/tickets/{record.pk}/edit/").context["form"]
    choices = [value for value, _label in form.fields["team"].choices]
    saved = web.post(
        f"/m/tickets/{record.pk}/edit/",
        {
            "title": "Team form",
            "status": "Open",
            "priority": "Normal",
            "team": f"g:{team.pk}",
            "owner": f"m:{admin.pk}",
        },
    )
    again = web.get(f"/m/tickets/{record.pk}/edit/").context["form"]

    assert f"g:{team.pk}" in choices and not any(c.startswith("m:") for c in choices)
    assert saved.status_code == 302
    with tenant_context(tenant_a):
        record.refresh_from_db()
        assert record.team_id == team.pk
    assert again.initial["team"] == f"g:{team.pk}"


def test_the_queue_costs_the_same_queries_for_two_or_twenty_tickets(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    web = client_for(tenant_a, admin)
    for i in range(2):
        ticket(tenant_a, admin, title=f"Few {i}", contact=str(contact(tenant_a, admin, email=f"f{i}@x.test").pk))
    web.get("/support/queue/?view=mine")
    with CaptureQueriesContext(connection) as few:
        web.get("/support/queue/?view=mine")
    for i in range(18):
        ticket(tenant_a, admin, title=f"Many {i}", contact=str(contact(tenant_a, admin, email=f"m{i}@x.test").pk))
    with CaptureQueriesContext(connection) as many:
        response = web.get("/support/queue/?view=mine")

    assert len(response.context["rows"]) == 20
    # Session with member and user, the groups, the tickets (owners, groups and contacts joined), the SLA summary
    # (one aggregate); the picklists' labels come from the metadata cache.
    assert len(statements(many)) == len(statements(few)) == 4, [q[:100] for q in statements(many)]


def test_the_home_page_lists_my_open_tickets_most_urgent_first(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    agent = member(tenant_a)
    with tenant_context(tenant_a):
        SlaPolicy.objects.create(name="Urgent", priority="Urgent", first_response_minutes=15, resolution_minutes=60)
        SlaPolicy.objects.create(name="Low", priority="Low", first_response_minutes=600, resolution_minutes=6000)
    ticket(tenant_a, admin, title="Later", priority="Low", owner=agent.pk)
    ticket(tenant_a, admin, title="Sooner", priority="Urgent", owner=agent.pk)
    ticket(tenant_a, admin, title="Someone else's", priority="Urgent")

    page = client_for(tenant_a, agent).get("/")

    widget = next(w for w in page.context["widgets"] if w.key == "tickets-my_tickets")
    assert [row["label"].split(" ", 1)[1] for row in widget.data["rows"]] == ["Sooner", "Later"]


def test_a_russian_speaking_member_sees_the_ticket_screens_in_russian(client_for, tenant_a, admin_of, member):
    from crm_apps.access.models import Member

    admin = admin_of(tenant_a)
    agent = member(tenant_a)
    with tenant_context(tenant_a):
        Member.objects.filter(pk=agent.pk).update(language="ru")
        SlaPolicy.objects.create(name="Normal", priority="Normal", first_response_minutes=60, resolution_minutes=480)
    record = ticket(tenant_a, admin, title="Принтер", owner=agent.pk)
    web = client_for(tenant_a, agent)

    page = web.get(f"/m/tickets/{record.pk}/").content.decode()
    queue = web.get("/support/queue/?view=mine").content.decode()

    assert "Переписка" in page and "Закрыть с решением" in page and "SLA: В срок" in page
    assert "Очереди поддержки" in queue and "Мои заявки" in queue


def test_the_queue_sums_up_breaches_and_the_share_met_in_the_last_30_days(client_for, tenant_a, admin_of):
    from crm_apps.modules.tickets.models import Ticket

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        SlaPolicy.objects.create(name="Normal", priority="Normal", first_response_minutes=60, resolution_minutes=480)
    met, late, breached, near = (ticket(tenant_a, admin, title=t) for t in ("met", "late", "breached", "near"))
    with tenant_context(tenant_a):
        from django.utils import timezone

        now = timezone.now()
        Ticket.objects.filter(pk=met.pk).update(status="Closed", closed_at=now, sla_status="Met")
        Ticket.objects.filter(pk=late.pk).update(status="Closed", closed_at=now, sla_status="Breached")
        Ticket.objects.filter(pk=breached.pk).update(sla_status="Breached")
        Ticket.objects.filter(pk=near.pk).update(sla_status="Near breach")

    page = client_for(tenant_a, admin).get("/support/queue/?view=mine")

    summary = page.context["summary"]
    assert (summary["breached"], summary["near"], summary["closed"], summary["met_share"]) == (1, 1, 2, 50)
    assert "Last 30 days: 50 % of 2 closed tickets met their SLA." in page.content.decode()
