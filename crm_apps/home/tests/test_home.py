"""The home page ("my day"): every widget's content, its empty state in a new workspace, the module
widget registry (a module's widgets only for members who may view it), and pinned query counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from conftest import statements
from crm_apps.access.services import profile_save, profile_set_modules, role_create, sharing_default_set
from crm_apps.engine import registry, services
from crm_apps.notifications import kinds
from crm_apps.notifications.services import notification_send

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")
CONTACTS = registry.get("contacts")


def _deal(tenant: Any, actor: Any, **data: Any) -> Any:
    with schema_context(tenant.schema_name):
        values = {"name": "Deal", "amount": "100", "currency": "USD", "close_date": timezone.localdate(), **data}
        values["close_date"] = values["close_date"].isoformat()
        return services.record_create(spec=DEALS, actor=actor, data=values)


def _widgets(page: Any) -> dict[str, Any]:
    return {w.key: w for w in page.context["widgets"]}


def test_a_new_member_sees_every_widget_with_a_useful_empty_state(client_for, tenant_a, member):
    web = client_for(tenant_a, member(tenant_a))

    page = web.get("/")
    html = page.content.decode()

    assert list(_widgets(page)) == [
        "notifications",
        "events-mine",
        "events-invitations",
        "tasks-due",
        "calls-missed_calls",
        "deals-closing_this_month",
        "followed",
        "tickets-my_tickets",
        "deals-open_deals",
        "recent",
        "team",
        "getting_started",
    ]
    assert "No notifications yet." in html and 'href="/notifications/preferences/"' in html
    assert "None of your open deals is expected to close in" in html and 'href="/m/deals/new/"' in html
    assert "Follow a record (the star on its page)" in html
    assert "You have no open deals yet." in html
    assert "Records you open appear here." in html
    assert "No open tickets are assigned to you." in html
    assert "No invitations waiting for your answer." in html


def test_deals_closing_this_month_are_mine_open_this_month_with_a_total_per_currency(
    client_for, tenant_a, admin_of, member
):
    admin = admin_of(tenant_a)
    rep = member(tenant_a)
    today = timezone.localdate()
    first = today.replace(day=1)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    _deal(tenant_a, rep, name="Alpha order", amount="1000.50", currency="USD", close_date=first)
    _deal(tenant_a, rep, name="Beta order", amount="250", currency="USD", close_date=today)
    _deal(tenant_a, rep, name="Gamma order", amount="700", currency="EUR", close_date=today)
    _deal(tenant_a, rep, name="Next month", amount="5", currency="USD", close_date=next_month)
    _deal(tenant_a, admin, name="Colleague's", amount="9", currency="USD", close_date=today)
    won = _deal(tenant_a, rep, name="Already won", amount="3", currency="USD", close_date=today)
    with schema_context(tenant_a.schema_name):
        from crm_apps.modules.deals.services import deal_close

        deal_close(actor=rep, deal=won, won=True)

    widget = _widgets(client_for(tenant_a, rep).get("/"))["deals-closing_this_month"].data

    assert widget["deals"][0]["name"] == "Alpha order"  # the soonest first
    assert sorted(d["name"] for d in widget["deals"]) == ["Alpha order", "Beta order", "Gamma order"]
    assert widget["count"] == 3
    assert [(t["currency"], str(t["total"])) for t in widget["totals"]] == [("EUR", "700.00"), ("USD", "1250.50")]


def test_the_open_deals_widget_never_adds_currencies(client_for, tenant_a, member):
    rep = member(tenant_a)
    _deal(tenant_a, rep, amount="10", currency="USD")
    _deal(tenant_a, rep, amount="20", currency="USD")
    _deal(tenant_a, rep, amount="5", currency="EUR")

    widget = _widgets(client_for(tenant_a, rep).get("/"))["deals-open_deals"].data
    first_stage = widget["rows"][0]

    assert first_stage["count"] == 3
    assert [(t["currency"], str(t["total"])) for t in first_stage["totals"]] == [("EUR", "5.00"), ("USD", "30.00")]


def test_my_notifications_widget_shows_mine_only(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    mia, leo = member(tenant_a), member(tenant_a)
    with schema_context(tenant_a.schema_name):
        record = services.record_create(spec=CONTACTS, actor=admin, data={"last_name": "Widget"})
        for recipient, name in ((mia, "For Mia"), (leo, "For Leo")):
            notification_send(
                recipient=recipient,
                kind=kinds.ASSIGNMENT,
                module="contacts",
                record_id=record.pk,
                actor=admin,
                params={"record": name},
                url=f"/m/contacts/{record.pk}/",
            )

    html = client_for(tenant_a, mia).get("/").content.decode()

    assert f"{admin.user.name} assigned For Mia to you" in html
    assert "For Leo" not in html
    assert "1 unread" in html


def test_followed_records_show_their_latest_change_by_someone_else(client_for, tenant_a, admin_of, member):
    from crm_apps.modules.deals.services import deal_set_stage, default_pipeline

    admin = admin_of(tenant_a)
    rep = member(tenant_a)
    with schema_context(tenant_a.schema_name):
        sharing_default_set(actor=admin, module="deals", access="public_read_write")
    deal = _deal(tenant_a, admin, name="Watched deal")
    quiet = _deal(tenant_a, admin, name="Quiet deal")
    with schema_context(tenant_a.schema_name):
        services.follow_set(spec=DEALS, actor=rep, record=quiet, following=True)
        services.follow_set(spec=DEALS, actor=rep, record=deal, following=True)
        deal_set_stage(actor=admin, deal=deal, stage_id=default_pipeline().stages.order_by("position")[1].pk)
        services.record_update(spec=DEALS, actor=rep, record=quiet, data={"name": "Quiet deal 2"})  # my own change

    rows = _widgets(client_for(tenant_a, rep).get("/"))["followed"].data["rows"]

    assert [r["title"] for r in rows] == ["Watched deal", "Quiet deal 2"]
    assert "Stage" in rows[0]["what"] and rows[0]["by"] == admin.user.name
    assert rows[1]["changed_at"] is None


def test_a_modules_widgets_are_left_out_for_members_who_cannot_view_it(client_for, tenant_a, admin_of, member):
    from crm_apps.access.models import Role

    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        profile = profile_save(
            actor=admin,
            profile=None,
            name="No deals",
            flags={"default_view": True, "default_create": True, "default_edit": True, "default_delete": True},
        )
        closed = {"view": False, "create": False, "edit": False, "delete": False}
        profile_set_modules(actor=admin, profile=profile, rights={"deals": closed})
        top = Role.objects.get(parent__isnull=True)
        role = role_create(actor=admin, name="No deals", parent=top, profile_ids=[profile.pk])
    blind = member(tenant_a, role=role)

    keys = list(_widgets(client_for(tenant_a, blind).get("/")))

    assert "deals-closing_this_month" not in keys and "deals-open_deals" not in keys
    assert "notifications" in keys


def test_home_page_queries_are_pinned_whatever_the_data(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    rep = member(tenant_a)
    web = client_for(tenant_a, rep)
    with schema_context(tenant_a.schema_name):
        sharing_default_set(actor=admin, module="deals", access="public_read_write")
    web.get("/")  # warm the session, metadata and visibility caches

    with CaptureQueriesContext(connection) as empty:
        web.get("/")
    for n in range(4):
        deal = _deal(tenant_a, rep, name=f"Deal {n}", currency="USD" if n % 2 else "EUR")
        other = _deal(tenant_a, admin, name=f"Theirs {n}")
        with schema_context(tenant_a.schema_name):
            services.follow_set(spec=DEALS, actor=rep, record=other, following=True)
            services.record_update(spec=DEALS, actor=admin, record=other, data={"name": f"Theirs {n}b"})
            services.record_update(spec=DEALS, actor=admin, record=deal, data={"owner": admin.pk})
            services.record_update(spec=DEALS, actor=admin, record=deal, data={"owner": rep.pk})
        web.get(f"/m/deals/{deal.pk}/")
    with CaptureQueriesContext(connection) as full:
        page = web.get("/")

    assert len(_widgets(page)["followed"].data["rows"]) == 4
    # session with member and user; notifications (2); my events; my invitations; my tasks; missed calls; follows;
    # recent views; team (2); deals widgets (5) and the currency rates their totals convert with (1); my open
    # tickets (1, crm_apps/modules/tickets/home.py); nothing for the onboarding checklist, which is not a
    # member's to act on
    assert len(statements(empty)) == 18
    # + the followed records, their latest changes (one DISTINCT ON), the recent records: not one per row
    assert len(statements(full)) == 21


def test_the_demo_admin_starts_with_a_mention_an_assignment_and_a_followed_change():
    from django.core.management import call_command

    from crm_apps.access.models import Member
    from crm_apps.home.management.commands.seed_demo import DEMO_EMAIL, DEMO_SLUG
    from crm_apps.notifications.models import Notification

    call_command("seed_demo", quiet=True)

    with schema_context(DEMO_SLUG):
        admin = Member.objects.get(user__email=DEMO_EMAIL)
        got = sorted(Notification.objects.filter(recipient=admin).values_list("kind", flat=True))
    assert got == sorted([kinds.MENTION, kinds.ASSIGNMENT, kinds.RECORD_CHANGED])
