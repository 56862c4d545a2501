"""The record-link API: comments, timeline, follow, tags, recycle bin and restore, with the rights,
audit and timeline of the screens, the authorisation matrix and pinned query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from conftest import statements
from crm_apps.access.services import profile_save, role_create, sharing_default_set
from crm_apps.audit.models import AuditEvent
from crm_apps.engine import registry, services
from crm_apps.engine.models import Comment, Follow, TimelineEntry

pytestmark = pytest.mark.django_db

CONTACTS = registry.get("contacts")


def _contact(tenant: Any, actor: Any, **data: Any) -> Any:
    with schema_context(tenant.schema_name):
        return services.record_create(spec=CONTACTS, actor=actor, data={"last_name": "Linked", **data})


def _state(tenant: Any, record: Any) -> dict[str, Any]:
    """Everything the link endpoints could change about a record."""
    with schema_context(tenant.schema_name):
        fresh = CONTACTS.model.objects.get(pk=record.pk)
        return {
            "comments": Comment.objects.filter(record_id=record.pk).count(),
            "follows": Follow.objects.filter(record_id=record.pk).count(),
            "tags": list(fresh.tags),
            "version": fresh.version,
            "deleted": fresh.deleted_at is not None,
            "timeline": TimelineEntry.objects.filter(record_id=record.pk).count(),
        }


def _read_only_member(tenant: Any, admin: Any, member: Any) -> Any:
    """A member who sees every contact but may not edit or delete any (public read default)."""
    with schema_context(tenant.schema_name):
        sharing_default_set(actor=admin, module="contacts", access="public_read")
    return member(tenant)


def _blind_member(tenant: Any, admin: Any, member: Any) -> Any:
    """A member whose profile does not open the contacts module at all."""
    from crm_apps.access.models import Role

    with schema_context(tenant.schema_name):
        profile = profile_save(
            actor=admin,
            profile=None,
            name="No contacts",
            flags={"default_view": False, "default_create": False, "default_edit": False, "default_delete": False},
        )
        role = role_create(
            actor=admin, name="Blind", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    return member(tenant, role=role)


# ---------------------------------------------------------------------------------------------
# Comments


def test_comments_are_listed_newest_first_and_paginated(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    record = _contact(tenant_a, admin)
    with schema_context(tenant_a.schema_name):
        for n in range(3):
            services.comment_add(spec=CONTACTS, actor=admin, record=record, body=f"Note {n}")
    api = client_for(tenant_a, member(tenant_a))

    first = api.get(f"/api/v1/contacts/{record.pk}/comments/?limit=2").json()
    second = api.get(first["next"]).json()

    assert [c["body"] for c in first["results"]] == ["Note 2", "Note 1"]
    assert [c["body"] for c in second["results"]] == ["Note 0"]
    assert second["next"] is None
    assert first["results"][0]["author"] == {"id": admin.pk, "name": admin.user.name}
    assert first["next"].startswith(f"http://alpha.localhost/api/v1/contacts/{record.pk}/comments/?limit=2&cursor=")


def test_posting_a_comment_mentions_and_notifies_like_the_screen(
    client_for, tenant_a, admin_of, member, mailoutbox, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    colleague = member(tenant_a, email="colleague-links@example.com")
    record = _contact(tenant_a, admin)
    api = client_for(tenant_a, member(tenant_a))

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/contacts/{record.pk}/comments/",
            {"body": "Ask @colleague-links@example.com about it"},
            content_type="application/json",
        )

    assert response.status_code == 201
    body = response.json()
    assert body["body"] == "Ask @colleague-links@example.com about it"
    assert body["mentions"] == [{"id": colleague.pk, "name": colleague.user.name}]
    assert [m.to for m in mailoutbox] == [["colleague-links@example.com"]]
    with schema_context(tenant_a.schema_name):
        entry = TimelineEntry.objects.get(record_id=record.pk, kind="commented")
        assert entry.data == {"comment": body["id"]}


def test_a_mentioned_member_who_cannot_see_the_record_gets_no_email(
    client_for, tenant_a, admin_of, member, mailoutbox, django_capture_on_commit_callbacks
):
    # Given a colleague whose profile does not open contacts
    admin = admin_of(tenant_a)
    blind = _blind_member(tenant_a, admin, member)
    record = _contact(tenant_a, admin)

    # When an admin mentions them on a contact
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(tenant_a, admin).post(
            f"/api/v1/contacts/{record.pk}/comments/",
            {"body": f"Ask @{blind.user.email} about it"},
            content_type="application/json",
        )

    # Then the comment is kept, but no email quotes the record or the comment to them
    assert response.status_code == 201
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "body"), ({"body": "   "}, "body"), ({"body": 12}, "body"), ({"body": "x" * 10_001}, "body")],
)
def test_bad_comments_are_field_errors_and_write_nothing(client_for, tenant_a, admin_of, payload, field):
    admin = admin_of(tenant_a)
    record = _contact(tenant_a, admin)
    before = _state(tenant_a, record)

    response = client_for(tenant_a, admin).post(
        f"/api/v1/contacts/{record.pk}/comments/", payload, content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert _state(tenant_a, record) == before


def test_comment_list_costs_the_same_queries_for_two_or_twelve_comments(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    colleague = member(tenant_a, email="pinned-links@example.com")
    few, many = _contact(tenant_a, admin), _contact(tenant_a, admin)
    with schema_context(tenant_a.schema_name):
        for record, count in ((few, 2), (many, 12)):
            for n in range(count):
                services.comment_add(
                    spec=CONTACTS, actor=admin, record=record, body=f"{n} for @pinned-links@example.com"
                )
    api = client_for(tenant_a, colleague)
    api.get(f"/api/v1/contacts/{few.pk}/")  # the member's access grants are computed once, then cached

    with CaptureQueriesContext(connection) as captured:
        assert len(api.get(f"/api/v1/contacts/{few.pk}/comments/").json()["results"]) == 2
    small = statements(captured)  # the next request resets the connection's query log
    with CaptureQueriesContext(connection) as captured:
        assert len(api.get(f"/api/v1/contacts/{many.pk}/comments/").json()["results"]) == 12
    big = statements(captured)

    # Session with member and user, the record, the comments with authors, their mentions.
    assert len(small) == 4, [q[:120] for q in small]
    assert len(big) == 4, [q[:120] for q in big]


# ---------------------------------------------------------------------------------------------
# Timeline


def test_timeline_shows_the_entries_of_the_page_without_hidden_fields(client_for, tenant_a, admin_of, member):
    from crm_apps.access.models import ProfileField, Role

    admin = admin_of(tenant_a)
    record = _contact(tenant_a, admin, email="old@example.com")
    with schema_context(tenant_a.schema_name):
        services.record_update(
            spec=CONTACTS, actor=admin, record=record, data={"email": "new@example.com", "first_name": "Ann"}
        )
        profile = profile_save(
            actor=admin,
            profile=None,
            name="No emails",
            flags={"default_view": True, "default_create": True, "default_edit": True, "default_delete": True},
        )
        ProfileField.objects.create(profile=profile, module="contacts", field="email", access="hidden")
        role = role_create(
            actor=admin, name="No emails", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    restricted = member(tenant_a, role=role)

    full = client_for(tenant_a, admin).get(f"/api/v1/contacts/{record.pk}/timeline/").json()["results"]
    partial = client_for(tenant_a, restricted).get(f"/api/v1/contacts/{record.pk}/timeline/").json()["results"]

    assert [e["kind"] for e in full] == ["updated", "created"]
    assert full[0]["changes"] == {"email": ["old@example.com", "new@example.com"], "first_name": ["", "Ann"]}
    assert full[0]["actor"] == {"id": admin.pk, "name": admin.user.name}
    assert partial[0]["changes"] == {"first_name": ["", "Ann"]}
    assert "new@example.com" not in str(partial)


def test_timeline_names_related_records_only_when_visible(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    reader = member(tenant_a)
    with schema_context(tenant_a.schema_name):
        organization = services.record_create(
            spec=registry.get("organizations"), actor=admin, data={"name": "Parent Co"}
        )
        services.record_create(spec=CONTACTS, actor=admin, data={"last_name": "Child", "organization": organization.pk})
    url = f"/api/v1/organizations/{organization.pk}/timeline/"

    seen = client_for(tenant_a, reader).get(url).json()["results"][0]
    with schema_context(tenant_a.schema_name):
        sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=False)
    hidden = client_for(tenant_a, reader).get(url).json()["results"][0]

    assert seen["kind"] == hidden["kind"] == "related"
    assert seen["related"]["label"].endswith("Child")
    assert hidden["related"] is None


def test_timeline_is_paginated_with_pinned_queries(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    record = _contact(tenant_a, admin)
    with schema_context(tenant_a.schema_name):
        for n in range(4):
            services.record_update(spec=CONTACTS, actor=admin, record=record, data={"first_name": f"N{n}"})
    api = client_for(tenant_a, admin)

    with CaptureQueriesContext(connection) as captured:
        first = api.get(f"/api/v1/contacts/{record.pk}/timeline/?limit=3").json()
    timeline_statements = statements(captured)  # the next request resets the connection's query log
    rest = api.get(first["next"]).json()
    bad = api.get(f"/api/v1/contacts/{record.pk}/timeline/?cursor=nonsense")
    too_big = api.get(f"/api/v1/contacts/{record.pk}/timeline/?limit=101")

    assert len(first["results"]) == 3 and len(rest["results"]) == 2 and rest["next"] is None
    assert [e["changes"]["first_name"][1] for e in first["results"]] == ["N3", "N2", "N1"]
    # Session with member and user, the record, the entries with their actors.
    assert len(timeline_statements) == 3, [q[:120] for q in timeline_statements]
    assert (bad.status_code, list(bad.json())) == (400, ["cursor"])
    assert (too_big.status_code, list(too_big.json())) == (400, ["limit"])


# ---------------------------------------------------------------------------------------------
# Follow


def test_follow_and_unfollow_are_idempotent_and_personal(client_for, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    record = _contact(tenant_a, admin)
    me, other = member(tenant_a), member(tenant_a)
    api = client_for(tenant_a, me)
    url = f"/api/v1/contacts/{record.pk}/follow"

    before = api.get(url).json()
    first = api.put(url)
    again = api.put(url)
    others_view = client_for(tenant_a, other).get(url).json()
    now = api.get(url).json()
    stop = api.delete(url)
    stop_again = api.delete(url)

    assert before == {"following": False}
    assert (first.status_code, first.json()) == (200, {"following": True})
    assert again.json() == {"following": True}
    assert others_view == {"following": False}
    assert now == {"following": True}
    assert (stop.status_code, stop_again.status_code) == (204, 204)
    with schema_context(tenant_a.schema_name):
        assert not Follow.objects.filter(record_id=record.pk).exists()


# ---------------------------------------------------------------------------------------------
# Tags


def test_tags_replace_add_and_remove_through_record_update(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    record = _contact(tenant_a, admin)
    api = client_for(tenant_a, admin)
    url = f"/api/v1/contacts/{record.pk}/tags"

    empty = api.get(url).json()
    replaced = api.put(url, {"tags": ["vip", "Berlin"], "version": empty["version"]}, content_type="application/json")
    changed = api.patch(url, {"add": ["renewal", "VIP"], "remove": ["berlin"]}, content_type="application/json")
    stale = api.put(url, {"tags": [], "version": empty["version"]}, content_type="application/json")

    assert empty == {"tags": [], "version": 1}
    assert replaced.json() == {"tags": ["vip", "Berlin"], "version": 2}
    assert changed.json() == {"tags": ["vip", "renewal"], "version": 3}
    assert stale.status_code == 409
    with schema_context(tenant_a.schema_name):
        updates = list(TimelineEntry.objects.filter(record_id=record.pk, kind="updated").order_by("created_at", "id"))
        audited = AuditEvent.objects.filter(record_id=str(record.pk), action="record_updated").count()
    assert [e.data for e in updates] == [
        {"changes": {"tags": [[], ["vip", "Berlin"]]}},
        {"changes": {"tags": [["vip", "Berlin"], ["vip", "renewal"]]}},
    ]
    assert audited == 2


@pytest.mark.parametrize(
    ("method", "payload", "field"),
    [
        ("put", {}, "tags"),
        ("put", {"tags": "a,b"}, "tags"),
        ("put", {"tags": ["<script>"]}, "tags"),
        ("put", {"tags": [f"t{n}" for n in range(21)]}, "tags"),
        ("put", {"tags": ["a"], "version": "x"}, "version"),
        ("patch", {}, "add"),
        ("patch", {"add": [1]}, "add"),
    ],
)
def test_bad_tags_are_field_errors_and_change_nothing(client_for, tenant_a, admin_of, method, payload, field):
    admin = admin_of(tenant_a)
    record = _contact(tenant_a, admin)
    before = _state(tenant_a, record)

    response = getattr(client_for(tenant_a, admin), method)(
        f"/api/v1/contacts/{record.pk}/tags", payload, content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert _state(tenant_a, record) == before


# ---------------------------------------------------------------------------------------------
# Recycle bin


def test_trash_lists_deleted_records_and_restore_brings_one_back(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    kept, first, second = (_contact(tenant_a, admin, first_name=n) for n in ("Kept", "First", "Second"))
    api = client_for(tenant_a, admin)
    api.delete(f"/api/v1/contacts/{first.pk}/")
    api.delete(f"/api/v1/contacts/{second.pk}/")

    with CaptureQueriesContext(connection) as captured:
        trash = api.get("/api/v1/contacts/trash/?limit=1").json()
    trash_statements = statements(captured)  # the next request resets the connection's query log
    rest = api.get(trash["next"]).json()
    restored = api.post(f"/api/v1/contacts/{first.pk}/restore")
    again = api.post(f"/api/v1/contacts/{first.pk}/restore")
    after = api.get("/api/v1/contacts/trash/").json()

    assert [r["first_name"] for r in trash["results"]] == ["Second"]
    assert [r["first_name"] for r in rest["results"]] == ["First"]
    assert trash["results"][0]["deleted_at"]
    # Session with member and user, the deleted records (custom fields come from the metadata memo).
    assert len(trash_statements) == 2, [q[:120] for q in trash_statements]
    assert restored.status_code == 200
    assert restored.json()["id"] == str(first.pk) and restored.json()["version"] == 3
    assert again.status_code == 404
    assert [r["id"] for r in after["results"]] == [str(second.pk)]
    assert api.get(f"/api/v1/contacts/{kept.pk}/restore").status_code == 405
    with schema_context(tenant_a.schema_name):
        assert AuditEvent.objects.filter(record_id=str(first.pk), action="record_restored").count() == 1
        assert TimelineEntry.objects.filter(record_id=first.pk, kind="restored").count() == 1


# ---------------------------------------------------------------------------------------------
# Authorisation matrix: anonymous / without the right / with it / another tenant's member


def _call(client: Any, name: str, record: Any) -> Any:
    base = f"/api/v1/contacts/{record.pk}"
    calls = {
        "comments.get": lambda: client.get(f"{base}/comments/"),
        "comments.post": lambda: client.post(f"{base}/comments/", {"body": "Hello"}, content_type="application/json"),
        "timeline.get": lambda: client.get(f"{base}/timeline/"),
        "follow.get": lambda: client.get(f"{base}/follow"),
        "follow.put": lambda: client.put(f"{base}/follow"),
        "follow.delete": lambda: client.delete(f"{base}/follow"),
        "tags.get": lambda: client.get(f"{base}/tags"),
        "tags.put": lambda: client.put(f"{base}/tags", {"tags": ["x"]}, content_type="application/json"),
        "tags.patch": lambda: client.patch(f"{base}/tags", {"add": ["x"]}, content_type="application/json"),
        "restore.post": lambda: client.post(f"{base}/restore"),
        "trash.get": lambda: client.get("/api/v1/contacts/trash/"),
    }
    return calls[name]()


ACTIONS = [
    "comments.get",
    "comments.post",
    "timeline.get",
    "follow.get",
    "follow.put",
    "follow.delete",
    "tags.get",
    "tags.put",
    "tags.patch",
    "restore.post",
    "trash.get",
]
# The status with the right; the right each needs: to see the record, to edit it, to delete it.
ALLOWED = {
    "comments.get": 200,
    "comments.post": 201,
    "timeline.get": 200,
    "follow.get": 200,
    "follow.put": 200,
    "follow.delete": 204,
    "tags.get": 200,
    "tags.put": 200,
    "tags.patch": 200,
    "restore.post": 200,
    "trash.get": 200,
}
NEEDS = {"tags.put": "edit", "tags.patch": "edit", "restore.post": "delete"}


def _prepared(tenant: Any, admin: Any, action: str) -> Any:
    """The record the action applies to: in the recycle bin for restore, live otherwise."""
    record = _contact(tenant, admin, first_name="Matrix")
    if action == "restore.post":
        with schema_context(tenant.schema_name):
            services.record_delete(spec=CONTACTS, actor=admin, record=record)
    return record


@pytest.mark.parametrize("action", ACTIONS)
def test_anonymous_callers_are_refused_and_change_nothing(client_for, tenant_a, admin_of, action):
    record = _prepared(tenant_a, admin_of(tenant_a), action)
    before = _state(tenant_a, record)

    response = _call(client_for(tenant_a), action, record)

    assert response.status_code == 401
    assert _state(tenant_a, record) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_member_with_the_right_succeeds(client_for, tenant_a, admin_of, member, action):
    record = _prepared(tenant_a, admin_of(tenant_a), action)

    response = _call(client_for(tenant_a, member(tenant_a)), action, record)

    assert response.status_code == ALLOWED[action], response.content


@pytest.mark.parametrize("action", ACTIONS)
def test_member_whose_profile_closes_the_module_is_refused(client_for, tenant_a, admin_of, member, action):
    admin = admin_of(tenant_a)
    record = _prepared(tenant_a, admin, action)
    blind = _blind_member(tenant_a, admin, member)
    before = _state(tenant_a, record)

    response = _call(client_for(tenant_a, blind), action, record)

    assert response.status_code == 403
    assert _state(tenant_a, record) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_member_who_cannot_see_the_record_gets_404_and_changes_nothing(client_for, tenant_a, admin_of, member, action):
    admin = admin_of(tenant_a)
    record = _prepared(tenant_a, admin, action)
    with schema_context(tenant_a.schema_name):
        sharing_default_set(actor=admin, module="contacts", access="private")
    before = _state(tenant_a, record)

    response = _call(client_for(tenant_a, member(tenant_a)), action, record)

    if action == "trash.get":
        assert (response.status_code, response.json()["results"]) == (200, [])
    else:
        assert response.status_code == 404
    assert _state(tenant_a, record) == before


@pytest.mark.parametrize("action", sorted(NEEDS))
def test_reader_without_edit_or_delete_rights_is_refused(client_for, tenant_a, admin_of, member, action):
    admin = admin_of(tenant_a)
    record = _prepared(tenant_a, admin, action)
    reader = _read_only_member(tenant_a, admin, member)
    before = _state(tenant_a, record)

    response = _call(client_for(tenant_a, reader), action, record)

    assert response.status_code == 403
    assert _state(tenant_a, record) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_member_of_another_tenant_gets_404_and_changes_nothing(client_for, tenant_a, tenant_b, admin_of, action):
    record = _prepared(tenant_a, admin_of(tenant_a), action)
    before = _state(tenant_a, record)

    response = _call(client_for(tenant_b, admin_of(tenant_b)), action, record)

    if action == "trash.get":
        assert response.status_code == 200
        assert str(record.pk) not in str(response.json())
    else:
        assert response.status_code == 404
    assert _state(tenant_a, record) == before


def test_scoped_tokens_need_the_module_scope_for_link_calls(tenant_a, admin_of):
    from django.test import Client

    from conftest import host_of
    from crm_apps.access.services import api_token_create

    admin = admin_of(tenant_a)
    record = _contact(tenant_a, admin)
    with schema_context(tenant_a.schema_name):
        reader = api_token_create(member=admin, name="reader", scopes=["contacts:read"])[1]
        writer = api_token_create(member=admin, name="writer", scopes=["contacts:write"])[1]
        other = api_token_create(member=admin, name="other", scopes=["deals:write"])[1]

    def client(key: str) -> Client:
        return Client(HTTP_HOST=host_of(tenant_a), HTTP_AUTHORIZATION=f"Token {key}")

    url = f"/api/v1/contacts/{record.pk}/comments/"
    assert client(reader).get(url).status_code == 200
    assert client(reader).post(url, {"body": "x"}, content_type="application/json").status_code == 403
    assert client(writer).post(url, {"body": "x"}, content_type="application/json").status_code == 201
    assert client(other).get(url).status_code == 403
    assert client(reader).get(f"/api/v1/contacts/{record.pk}/timeline/").status_code == 200
    assert client(reader).put(f"/api/v1/contacts/{record.pk}/follow").status_code == 403


# ---------------------------------------------------------------------------------------------
# OpenAPI


def test_openapi_documents_every_link_endpoint_per_module(client_for, tenant_a, admin_of):
    schema = client_for(tenant_a, admin_of(tenant_a)).get("/api/v1/schema/?format=json").json()
    paths = schema["paths"]

    assert set(paths["/api/v1/contacts/{record_id}/comments/"]) == {"get", "post"}
    assert set(paths["/api/v1/contacts/{record_id}/timeline/"]) == {"get"}
    assert set(paths["/api/v1/contacts/{record_id}/follow"]) == {"get", "put", "delete"}
    assert set(paths["/api/v1/contacts/{record_id}/tags"]) == {"get", "put", "patch"}
    assert set(paths["/api/v1/contacts/{record_id}/restore"]) == {"post"}
    assert set(paths["/api/v1/deals/trash/"]) == {"get"}
    comment = schema["components"]["schemas"]["Comment"]["properties"]
    assert set(comment) == {"id", "body", "author", "mentions", "created_at"}
    trash = schema["components"]["schemas"]["ContactTrashPage"]["properties"]
    assert set(trash) == {"results", "next"}


# ---------------------------------------------------------------------------------------------
# Routes


def test_related_lists_still_answer_beside_the_link_routes(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        organization = services.record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Org"})
        child = services.record_create(
            spec=CONTACTS, actor=admin, data={"last_name": "Child", "organization": organization.pk}
        )

    related = client_for(tenant_a, admin).get(f"/api/v1/organizations/{organization.pk}/contacts/")

    assert related.status_code == 200
    assert [r["id"] for r in related.json()["results"]] == [str(child.pk)]


def test_a_related_list_named_like_a_link_route_fails_the_system_check(monkeypatch):
    import dataclasses

    from crm_apps.engine import checks
    from crm_apps.engine.spec import Related

    organizations = registry.get("organizations")
    clashing = dataclasses.replace(organizations, related=(*organizations.related, Related("comments", via="x")))
    monkeypatch.setitem(registry._REGISTRY, "organizations", clashing)

    errors = [e for e in checks.spec_errors() if e.id == "engine.E007"]

    assert [e.msg for e in errors] == [
        "module 'organizations': related list 'comments' would hide the record's link endpoint "
        "/api/v1/organizations/<id>/comments"
    ]
