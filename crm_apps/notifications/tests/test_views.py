"""The screens: the bell (polled count, pinned queries), the list with mark read / all read, the
preferences page, and another member's or tenant's notification refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from conftest import statements
from crm_apps.engine import registry, services
from crm_apps.notifications import kinds
from crm_apps.notifications.models import DigestSubscription, Notification, NotificationPreference
from crm_apps.notifications.services import notification_send

pytestmark = pytest.mark.django_db
CONTACTS = registry.get("contacts")


def _notify(tenant: Any, recipient: Any, actor: Any, count: int = 1) -> list[Any]:
    with schema_context(tenant.schema_name):
        record = services.record_create(spec=CONTACTS, actor=actor, data={"last_name": "Screen"})
        return [
            notification_send(
                recipient=recipient,
                kind=kinds.ASSIGNMENT,
                module="contacts",
                record_id=record.pk,
                actor=actor,
                params={"record": f"Screen {n}"},
                url=f"/m/contacts/{record.pk}/",
            )
            for n in range(count)
        ]


def test_the_bell_shows_the_unread_count_and_costs_one_count(client_for, tenant_a, admin_of, member):
    mia = member(tenant_a)
    web = client_for(tenant_a, mia)
    empty = web.get("/notifications/bell/").content.decode()
    _notify(tenant_a, mia, admin_of(tenant_a), count=3)

    with CaptureQueriesContext(connection) as captured:
        bell = web.get("/notifications/bell/").content.decode()

    assert "data-bell-count" not in empty
    assert "data-bell-count>3</span>" in bell
    assert len([q for q in statements(captured) if "notifications_notification" in q]) == 1
    assert len(statements(captured)) <= 4


def test_pages_carry_the_bell_without_a_query_for_it(client_for, tenant_a, member):
    web = client_for(tenant_a, member(tenant_a))

    with CaptureQueriesContext(connection) as captured:
        page = web.get("/m/contacts/").content.decode()

    assert 'hx-get="/notifications/bell/"' in page and "load, every 60s" in page
    assert not [q for q in statements(captured) if "notifications_notification" in q and "COUNT" in q.upper()]


def test_the_list_shows_titles_and_marks_read_one_and_all(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    mia = member(tenant_a)
    first, second, _third = _notify(tenant_a, mia, admin, count=3)
    web = client_for(tenant_a, mia)

    page = web.get("/notifications/").content.decode()
    opened = web.post(f"/notifications/{first.pk}/read/", {"open": "1"})
    marked = web.post(f"/notifications/{second.pk}/read/")
    unread_page = web.get("/notifications/?unread=1").content.decode()
    web.post("/notifications/read-all/")

    assert f"{admin.user.name} assigned Screen 0 to you" in page
    assert opened.status_code == 302 and opened["Location"] == first.url
    assert marked.status_code == 302 and marked["Location"] == "/notifications/"
    assert "Screen 2" in unread_page and "Screen 0" not in unread_page
    with schema_context(tenant_a.schema_name):
        assert not Notification.objects.filter(recipient=mia, read_at__isnull=True).exists()


def test_an_empty_inbox_says_what_will_appear(client_for, tenant_a, member):
    page = client_for(tenant_a, member(tenant_a)).get("/notifications/").content.decode()

    assert "Nothing here yet." in page


def test_someone_elses_notification_is_not_found_here_or_on_another_tenant(
    client_for, tenant_a, tenant_b, admin_of, member
):
    admin = admin_of(tenant_a)
    mia = member(tenant_a)
    (notification,) = _notify(tenant_a, mia, admin)

    same_tenant = client_for(tenant_a, admin).post(f"/notifications/{notification.pk}/read/")
    other_tenant = client_for(tenant_b, admin_of(tenant_b)).post(f"/notifications/{notification.pk}/read/")
    anonymous = client_for(tenant_a).post(f"/notifications/{notification.pk}/read/")

    assert same_tenant.status_code == 404
    assert other_tenant.status_code == 404
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    with schema_context(tenant_a.schema_name):
        assert Notification.objects.get(pk=notification.pk).read_at is None


def test_an_open_link_never_leaves_the_site(client_for, tenant_a, admin_of, member):
    mia = member(tenant_a)
    with schema_context(tenant_a.schema_name):
        record = services.record_create(spec=CONTACTS, actor=admin_of(tenant_a), data={"last_name": "Away"})
        notification = notification_send(
            recipient=mia,
            kind=kinds.REMINDER,
            module="contacts",
            record_id=record.pk,
            params={"record": "Away"},
            url="https://evil.example/",
        )
        assert notification is not None

    response = client_for(tenant_a, mia).post(f"/notifications/{notification.pk}/read/", {"open": "1"})

    assert response["Location"] == "/notifications/"


def test_preferences_page_saves_channels_and_digest(client_for, tenant_a, member):
    mia = member(tenant_a)
    web = client_for(tenant_a, mia)
    form = {f"channel-{k.key}": k.default for k in kinds.kinds_all()}
    form.update({"channel-mention": "off", "channel-assignment": "inapp", "digest": "1"})

    page = web.get("/notifications/preferences/").content.decode()
    saved = web.post("/notifications/preferences/", form)
    bad = web.post("/notifications/preferences/", {**form, "channel-reminder": "loud", "channel-mention": "email"})
    profile = web.get("/settings/profile/").content.decode()

    assert 'name="channel-mention" value="email"' in page
    assert saved.status_code == 302
    assert bad.status_code == 400
    assert 'name="channel-mention"' in profile and 'name="next" value="/settings/profile/"' in profile
    with schema_context(tenant_a.schema_name):
        chosen = dict(NotificationPreference.objects.filter(member=mia).values_list("kind", "channel"))
        assert chosen["mention"] == "off" and chosen["assignment"] == "inapp" and chosen["reminder"] == "email"
        assert DigestSubscription.objects.filter(member=mia).exists()


def test_the_list_pages_to_older_notifications(client_for, tenant_a, admin_of, member, monkeypatch):
    from crm_apps.notifications import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    mia = member(tenant_a)
    _notify(tenant_a, mia, admin_of(tenant_a), count=3)
    web = client_for(tenant_a, mia)

    first = web.get("/notifications/")
    second = web.get(f"/notifications/?before={first.context['older']}")

    assert [r["title"].rsplit(" ", 3)[-3] for r in first.context["rows"]] == ["2", "1"]
    assert [r["title"].rsplit(" ", 3)[-3] for r in second.context["rows"]] == ["0"]
    assert second.context["older"] is None


def test_saving_from_the_profile_returns_to_the_profile(client_for, tenant_a, member):
    web = client_for(tenant_a, member(tenant_a))
    form = {f"channel-{k.key}": k.default for k in kinds.kinds_all()}

    back_home = web.post("/notifications/preferences/", {**form, "next": "/settings/profile/"})
    elsewhere = web.post("/notifications/preferences/", {**form, "next": "https://evil.example/"})

    assert back_home["Location"] == "/settings/profile/"
    assert elsewhere["Location"] == "/notifications/preferences/"
