"""`/api/v1/notifications/`: a member's own inbox. The authorisation matrix (anonymous, member, another
member of the same tenant, a member of another tenant, a scoped token), filters, pages, pinned queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from conftest import host_of, statements
from crm_apps.engine import registry, services
from crm_apps.notifications import kinds
from crm_apps.notifications.models import Notification, NotificationPreference
from crm_apps.notifications.services import notification_send

pytestmark = pytest.mark.django_db
CONTACTS = registry.get("contacts")


def _notify(
    tenant: Any, recipient: Any, actor: Any, count: int = 1, kind: str = kinds.MENTION, name: str = "Inbox"
) -> list[Any]:
    with schema_context(tenant.schema_name):
        record = services.record_create(spec=CONTACTS, actor=actor, data={"last_name": "Inbox"})
        return [
            notification_send(
                recipient=recipient,
                kind=kind,
                module="contacts",
                record_id=record.pk,
                actor=actor,
                params={"record": f"{name} {n}", "body": f"body {n}"},
                url=f"/m/contacts/{record.pk}/",
            )
            for n in range(count)
        ]


def _unread(tenant: Any, member: Any) -> int:
    with schema_context(tenant.schema_name):
        return Notification.objects.filter(recipient=member, read_at__isnull=True).count()


def test_the_list_shows_my_notifications_newest_first_with_titles_and_pages(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    mia = member(tenant_a)
    _notify(tenant_a, mia, admin, count=3)
    api = client_for(tenant_a, mia)

    first = api.get("/api/v1/notifications/?limit=2").json()
    second = api.get(first["next"]).json()

    assert [n["title"] for n in first["results"]] == [
        f"{admin.user.name} mentioned you on Inbox 2",
        f"{admin.user.name} mentioned you on Inbox 1",
    ]
    assert [n["body"] for n in second["results"]] == ["body 0"]
    assert second["next"] is None
    assert first["unread"] == 3
    row = first["results"][0]
    assert row["kind"] == "mention" and row["module"] == "contacts" and row["read"] is False
    assert row["actor"] == {"id": admin.pk, "name": admin.user.name}


def test_unread_filter_and_mark_read(client_for, tenant_a, admin_of, member):
    mia = member(tenant_a)
    first, second = _notify(tenant_a, mia, admin_of(tenant_a), count=2)
    api = client_for(tenant_a, mia)

    marked = api.post(f"/api/v1/notifications/{first.pk}/read")
    again = api.post(f"/api/v1/notifications/{first.pk}/read")
    unread = api.get("/api/v1/notifications/?unread=true").json()
    read = api.get("/api/v1/notifications/?unread=false").json()

    assert marked.status_code == 200 and marked.json()["read"] is True
    assert again.status_code == 200 and again.json()["read_at"] == marked.json()["read_at"]
    assert [n["id"] for n in unread["results"]] == [second.pk]
    assert [n["id"] for n in read["results"]] == [first.pk]
    assert unread["unread"] == 1
    assert api.get("/api/v1/notifications/count").json() == {"unread": 1}


def test_read_all_marks_only_my_notifications(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    mia, leo = member(tenant_a), member(tenant_a)
    _notify(tenant_a, mia, admin, count=2)
    _notify(tenant_a, leo, admin, count=1)

    response = client_for(tenant_a, mia).post("/api/v1/notifications/read-all")

    assert response.json() == {"marked": 2}
    assert (_unread(tenant_a, mia), _unread(tenant_a, leo)) == (0, 1)


def test_anonymous_callers_are_refused_and_change_nothing(client_for, tenant_a, admin_of, member):
    mia = member(tenant_a)
    (notification,) = _notify(tenant_a, mia, admin_of(tenant_a))
    anonymous = client_for(tenant_a)

    responses = [
        anonymous.get("/api/v1/notifications/"),
        anonymous.get("/api/v1/notifications/count"),
        anonymous.post(f"/api/v1/notifications/{notification.pk}/read"),
        anonymous.post("/api/v1/notifications/read-all"),
        anonymous.put("/api/v1/notifications/preferences", {"digest": True}, content_type="application/json"),
    ]

    assert {r.status_code for r in responses} <= {401, 403}
    assert _unread(tenant_a, mia) == 1


def test_another_member_cannot_read_or_mark_my_notification(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    mia = member(tenant_a)
    (notification,) = _notify(tenant_a, mia, admin)
    other = client_for(tenant_a, admin)  # an admin is no exception

    response = other.post(f"/api/v1/notifications/{notification.pk}/read")
    listed = other.get("/api/v1/notifications/").json()

    assert response.status_code == 404
    assert listed["results"] == [] and listed["unread"] == 0
    assert _unread(tenant_a, mia) == 1


def test_a_member_of_another_tenant_gets_404_and_counts_never_mix(client_for, tenant_a, tenant_b, admin_of, member):
    mia = member(tenant_a)
    (notification,) = _notify(tenant_a, mia, admin_of(tenant_a))
    stranger_b = member(tenant_b)
    _notify(tenant_b, stranger_b, admin_of(tenant_b), count=2, name="Beta")
    api_b = client_for(tenant_b, stranger_b)

    response = api_b.post(f"/api/v1/notifications/{notification.pk}/read")
    listed = api_b.get("/api/v1/notifications/").json()
    # mia's own session is refused on the other tenant's host
    mia_on_b = client_for(tenant_a, mia)
    mia_on_b.defaults["HTTP_HOST"] = host_of(tenant_b)

    assert response.status_code == 404
    assert listed["unread"] == 2
    assert [n["title"].split(" on ")[-1] for n in listed["results"]] == ["Beta 1", "Beta 0"]
    assert mia_on_b.get("/api/v1/notifications/").status_code in (401, 403)
    assert client_for(tenant_a, mia).get("/api/v1/notifications/count").json() == {"unread": 1}
    assert _unread(tenant_a, mia) == 1


def test_scoped_extension_tokens_cannot_read_inboxes(tenant_a, admin_of):
    from crm_apps.access.services import api_token_create

    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        key = api_token_create(member=admin, name="ext", scopes=["contacts:write"])[1]

    response = Client(HTTP_HOST=host_of(tenant_a), HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/notifications/")

    assert response.status_code == 403


def test_preferences_round_trip_and_bad_input_changes_nothing(client_for, tenant_a, member):
    mia = member(tenant_a)
    api = client_for(tenant_a, mia)

    before = api.get("/api/v1/notifications/preferences").json()
    saved = api.put(
        "/api/v1/notifications/preferences",
        {"channels": {"mention": "off", "record_changed": "email"}, "digest": True},
        content_type="application/json",
    )
    bad_channel = api.put(
        "/api/v1/notifications/preferences", {"channels": {"mention": "loud"}}, content_type="application/json"
    )
    bad_kind = api.put(
        "/api/v1/notifications/preferences",
        {"channels": {"assignment": "off", "nonsense": "off"}},
        content_type="application/json",
    )

    assert before["channels"]["mention"] == "email" and before["digest"] is False
    assert {k["key"] for k in before["kinds"]} >= {"mention", "assignment", "reminder", "invitation", "record_changed"}
    assert saved.status_code == 200
    assert saved.json()["channels"]["mention"] == "off" and saved.json()["channels"]["record_changed"] == "email"
    assert saved.json()["digest"] is True
    assert bad_channel.status_code == 400 and "channels" in bad_channel.json()
    assert bad_kind.status_code == 400 and "channels.nonsense" in bad_kind.json()
    with schema_context(tenant_a.schema_name):
        assert dict(NotificationPreference.objects.filter(member=mia).values_list("kind", "channel")) == {
            "mention": "off",
            "record_changed": "email",
        }


def test_list_and_count_queries_are_pinned(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    mia = member(tenant_a)
    api = client_for(tenant_a, mia)
    _notify(tenant_a, mia, admin, count=2)
    api.get("/api/v1/notifications/")  # warm the session and caches

    with CaptureQueriesContext(connection) as two:
        api.get("/api/v1/notifications/")
    _notify(tenant_a, mia, admin, count=10)
    with CaptureQueriesContext(connection) as twelve:
        api.get("/api/v1/notifications/")
    with CaptureQueriesContext(connection) as count:
        api.get("/api/v1/notifications/count")

    assert len(statements(two)) == len(statements(twelve))
    assert len(statements(twelve)) <= 6
    assert len([q for q in statements(count) if "notifications_notification" in q]) == 1


@pytest.mark.parametrize(
    ("query", "field"), [("limit=many", "limit"), ("before=abc", "before"), ("before=999999", "before")]
)
def test_bad_list_parameters_are_field_errors(client_for, tenant_a, member, query, field):
    response = client_for(tenant_a, member(tenant_a)).get(f"/api/v1/notifications/?{query}")

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_the_openapi_schema_documents_the_notification_endpoints(client_for, tenant_a, admin_of):
    paths = client_for(tenant_a, admin_of(tenant_a)).get("/api/v1/schema/?format=json").json()["paths"]

    assert {
        "/api/v1/notifications/",
        "/api/v1/notifications/count",
        "/api/v1/notifications/read-all",
        "/api/v1/notifications/preferences",
        "/api/v1/notifications/{notification_id}/read",
    } <= set(paths)
    page = paths["/api/v1/notifications/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert page["$ref"].endswith("/NotificationPage")
