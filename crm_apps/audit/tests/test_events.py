"""Each kind of event is written once, with the right actor, address, target and old -> new values."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context, tenant_context

from conftest import TEST_PASSWORD
from crm_apps.access.models import ApiToken, Invitation
from crm_apps.access.services import (
    invitation_accept,
    invitation_create,
    invitation_revoke,
    member_deactivate,
    member_reactivate,
    member_set_admin,
)
from crm_apps.audit.context import client_ip_context
from crm_apps.audit.models import AuditEvent
from crm_apps.audit.services import audit_log
from crm_apps.audit.tests.helpers import events, only
from crm_apps.engine import registry
from crm_apps.engine.services import (
    custom_field_create,
    numbering_update,
    record_create,
    record_delete,
    record_restore,
    record_update,
    records_merge,
)

pytestmark = pytest.mark.django_db
IP = "203.0.113.7"


def contact(tenant, actor, **extra):
    spec = registry.get("contacts")
    with tenant_context(tenant):
        return record_create(spec=spec, actor=actor, data={**spec.example, **extra})


# --- the service --------------------------------------------------------------------------------


def test_audit_log_writes_every_field_and_takes_the_address_of_the_request(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a), client_ip_context(IP):
        event = audit_log(
            action="record_updated",
            actor=admin,
            module="contacts",
            record_id=42,
            record_label="Hank Scorpio",
            changes={"email": ["a@x.example", "b@x.example"]},
            details={"note": "n"},
        )

    stored = only(tenant_a, pk=event.pk)
    assert (stored.actor_id, stored.actor_label, stored.ip) == (admin.pk, "admin@alpha.example.com", IP)
    assert (stored.action, stored.module, stored.record_id, stored.record_label) == (
        "record_updated",
        "contacts",
        "42",
        "Hank Scorpio",
    )
    assert stored.changes == {"email": ["a@x.example", "b@x.example"]}
    assert stored.details == {"note": "n"}


def test_audit_log_refuses_unknown_actions_and_ignores_a_bad_address(tenant_a):
    with tenant_context(tenant_a):
        with pytest.raises(ValueError, match="Unknown audit action"):
            audit_log(action="role_renamed")
        with client_ip_context("not-an-address"):
            event = audit_log(action="login_failed")
        outside = audit_log(action="login_failed")

    assert event.ip is None
    assert outside.ip is None
    assert event.actor_id is None and event.actor_label == ""


# --- sign-in ------------------------------------------------------------------------------------


def test_web_sign_in_success_and_failure(client_for, tenant_a, member):
    kim = member(tenant_a, email="kim@example.com")
    client = client_for(tenant_a, REMOTE_ADDR=IP)

    bad = client.post("/accounts/login/", {"username": "kim@example.com", "password": "wrong-horse-77"})
    good = client.post("/accounts/login/", {"username": "kim@example.com", "password": TEST_PASSWORD})

    assert bad.status_code == 200 and good.status_code == 302
    failed = only(tenant_a, action="login_failed")
    assert (failed.actor_id, failed.ip, failed.details) == (None, IP, {"via": "web", "email": "kim@example.com"})
    assert "wrong-horse-77" not in json.dumps([failed.changes, failed.details, failed.record_label])
    ok = only(tenant_a, action="login_succeeded")
    assert (ok.actor_id, ok.actor_label, ok.ip, ok.details) == (kim.pk, "kim@example.com", IP, {"via": "web"})


def test_api_sign_in_success_creates_a_token_and_failure_is_logged(client_for, tenant_a, member):
    kim = member(tenant_a, email="kim@example.com")
    client = client_for(tenant_a, REMOTE_ADDR=IP)

    bad = client.post(
        "/api/v1/auth/token",
        {"email": "kim@example.com", "password": "wrong-horse-77"},
        content_type="application/json",
    )
    good = client.post(
        "/api/v1/auth/token",
        {"email": "kim@example.com", "password": TEST_PASSWORD, "name": "CI"},
        content_type="application/json",
    )

    assert bad.status_code == 400 and good.status_code == 201
    failed = only(tenant_a, action="login_failed")
    assert (failed.ip, failed.details) == (IP, {"via": "api", "email": "kim@example.com"})
    assert "wrong-horse-77" not in json.dumps(failed.details)
    ok = only(tenant_a, action="login_succeeded")
    assert (ok.actor_id, ok.details) == (kim.pk, {"via": "api"})
    token = only(tenant_a, action="token_created")
    assert (token.actor_id, token.record_id, token.record_label) == (kim.pk, str(good.json()["id"]), "CI")
    assert good.json()["token"] not in json.dumps(token.details)
    assert token.details == {"prefix": good.json()["token"][:8]}


def test_handover_sign_in_is_logged(client_for, tenant_a, admin_of):
    from tenants.services import handover_create

    admin = admin_of(tenant_a)
    key = handover_create(user=admin.user, tenant=tenant_a)

    response = client_for(tenant_a).get(f"/auth/handover/{key}/")

    assert response.status_code == 302
    assert only(tenant_a, action="login_succeeded").actor_id == admin.pk


# --- tokens -------------------------------------------------------------------------------------


def test_tokens_created_and_revoked_on_the_web_and_the_api(client_for, tenant_a, member):
    kim = member(tenant_a, email="kim@example.com")
    web = client_for(tenant_a, kim)

    web.post("/settings/api-tokens/", {"name": "Laptop"})
    with schema_context("alpha"):
        laptop = ApiToken.objects.get(name="Laptop")
    web.post(f"/settings/api-tokens/{laptop.pk}/revoke/")
    key = client_for(tenant_a).post(
        "/api/v1/auth/token", {"email": "kim@example.com", "password": TEST_PASSWORD}, content_type="application/json"
    )
    api_id = key.json()["id"]
    gone = client_for(tenant_a).delete(
        f"/api/v1/auth/tokens/{api_id}", HTTP_AUTHORIZATION=f"Token {key.json()['token']}"
    )
    missing = web.post(f"/settings/api-tokens/{laptop.pk}/revoke/")

    assert gone.status_code == 204 and missing.status_code == 404
    created = events(tenant_a, action="token_created")
    revoked = events(tenant_a, action="token_revoked")
    assert [(e.record_id, e.actor_id) for e in created] == [(str(laptop.pk), kim.pk), (str(api_id), kim.pk)]
    assert [(e.record_id, e.record_label) for e in revoked] == [(str(laptop.pk), "Laptop"), (str(api_id), "API token")]


# --- records ------------------------------------------------------------------------------------


def test_record_create_logs_the_values_it_was_given(tenant_a, admin_of):
    admin = admin_of(tenant_a)

    record = contact(tenant_a, admin)

    event = only(tenant_a, action="record_created")
    assert (event.actor_id, event.module, event.record_id) == (admin.pk, "contacts", str(record.pk))
    assert event.record_label == f"{record.number} Hank Scorpio"
    assert event.changes["last_name"] == [None, "Scorpio"]
    assert event.changes["email"] == [None, "hank@globex.example"]
    assert event.changes["owner"] == [None, admin.pk]
    assert all(new not in (None, "", []) for _old, new in event.changes.values())


def test_record_update_logs_old_and_new_values_like_the_timeline(tenant_a, admin_of):
    from crm_apps.engine.models import TimelineEntry

    admin = admin_of(tenant_a)
    record = contact(tenant_a, admin)
    spec = registry.get("contacts")

    with tenant_context(tenant_a):
        record_update(spec=spec, actor=admin, record=record, data={"title": "CFO", "phone": ""})
        record_update(spec=spec, actor=admin, record=record, data={"title": "CFO"})  # no change: no event
        timeline = TimelineEntry.objects.get(record_id=record.pk, kind="updated")

    event = only(tenant_a, action="record_updated")
    assert event.changes == {"title": ["CEO", "CFO"], "phone": ["+1 555 0101", ""]}
    assert event.changes == timeline.data["changes"]
    assert (event.record_id, event.module, event.actor_id) == (str(record.pk), "contacts", admin.pk)


def test_a_failed_update_writes_no_event(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    record = contact(tenant_a, admin)
    spec = registry.get("contacts")

    with tenant_context(tenant_a), pytest.raises(ValidationError):
        record_update(spec=spec, actor=admin, record=record, data={"title": "CFO", "email": "not an email"})
    token = client_for(tenant_a).post(
        "/api/v1/auth/token",
        {"email": "admin@alpha.example.com", "password": TEST_PASSWORD},
        content_type="application/json",
    )
    api = client_for(tenant_a).patch(
        f"/api/v1/contacts/{record.pk}/",
        {"email": "still not"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.json()['token']}",
    )

    assert api.status_code == 400
    assert events(tenant_a, action="record_updated") == []


def test_delete_restore_and_merge(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    spec = registry.get("contacts")
    keep = contact(tenant_a, admin, last_name="Keep")
    dupe = contact(tenant_a, admin, last_name="Dupe", email="dupe@globex.example")

    with tenant_context(tenant_a):
        record_delete(spec=spec, actor=admin, record=dupe)
        record_restore(spec=spec, actor=admin, record_id=dupe.pk)
        records_merge(spec=spec, actor=admin, primary_id=keep.pk, other_ids=[dupe.pk], choices={"email": dupe.pk})

    deleted = only(tenant_a, action="record_deleted")
    restored = only(tenant_a, action="record_restored")
    merged = only(tenant_a, action="records_merged")
    assert (deleted.record_id, deleted.module, deleted.actor_id) == (str(dupe.pk), "contacts", admin.pk)
    assert restored.record_id == str(dupe.pk)
    assert merged.record_id == str(keep.pk)
    assert merged.details == {"merged": [{"id": str(dupe.pk), "label": f"{dupe.number} Hank Dupe"}]}
    # the chosen value copied onto the primary is a change of the primary
    copied = events(tenant_a, action="record_updated", record_id=str(keep.pk))
    assert [e.changes for e in copied] == [{"email": ["hank@globex.example", "dupe@globex.example"]}]


def test_the_recycle_bin_purge_is_logged_as_a_system_deletion(tenant_a, admin_of):
    from datetime import timedelta

    from django.utils import timezone

    from crm_apps.engine.services import records_purge_deleted

    admin = admin_of(tenant_a)
    spec = registry.get("contacts")
    old = contact(tenant_a, admin)
    with tenant_context(tenant_a):
        spec.model.objects.filter(pk=old.pk).update(deleted_at=timezone.now() - timedelta(days=31))
        records_purge_deleted()

    event = only(tenant_a, action="record_deleted")
    assert (event.actor_id, event.actor_label, event.module) == (None, "", "contacts")
    assert event.details == {"purged_from_recycle_bin": 1, "older_than_days": 30}


def test_mass_changes_log_one_event_per_record(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    first, second = contact(tenant_a, admin, last_name="A"), contact(tenant_a, admin, last_name="B")
    web = client_for(tenant_a, admin)

    web.post("/m/contacts/mass/", {"ids": [first.pk, second.pk], "action": "edit", "field": "title", "value": "VP"})
    web.post("/m/contacts/mass/", {"ids": [first.pk, second.pk], "action": "delete"})

    updated = events(tenant_a, action="record_updated")
    assert sorted(e.record_id for e in updated) == sorted([str(first.pk), str(second.pk)])
    assert all(e.changes == {"title": ["CEO", "VP"]} for e in updated)
    assert len(events(tenant_a, action="record_deleted")) == 2


def test_lead_conversion_is_a_change_of_the_lead(tenant_a, admin_of):
    from crm_apps.modules.leads.services import lead_convert

    admin = admin_of(tenant_a)
    spec = registry.get("leads")
    with tenant_context(tenant_a):
        lead = record_create(spec=spec, actor=admin, data={"last_name": "Lee", "company": "Initech"})
        result = lead_convert(actor=admin, lead=lead)

    event = only(tenant_a, action="record_updated", module="leads")
    assert event.changes == {"converted": [False, True]}
    assert event.details["contact"] == str(result.contact.pk)
    assert {e.module for e in events(tenant_a, action="record_created")} == {"leads", "organizations", "contacts"}


# --- exports ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_logs_who_which_module_and_how_many_rows(client_for, tenant_a, admin_of, fmt):
    admin = admin_of(tenant_a)
    contact(tenant_a, admin, last_name="One")
    contact(tenant_a, admin, last_name="Two")
    contact(tenant_a, admin, last_name="Three", email="three@x.example")
    web = client_for(tenant_a, admin, REMOTE_ADDR=IP)

    response = web.get(f"/m/contacts/export.{fmt}", {"q": "three"})
    b"".join(response.streaming_content) if response.streaming else response.content

    event = only(tenant_a, action="export")
    assert (event.actor_id, event.module, event.ip) == (admin.pk, "contacts", IP)
    assert event.details == {"format": fmt, "rows": 1, "view": {"q": "three"}}


# --- settings, members --------------------------------------------------------------------------


def test_settings_changes_log_old_and_new_values(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    spec = registry.get("vendors")

    with tenant_context(tenant_a):
        custom_field_create(actor=admin, spec=spec, key="tier", label="Tier", type="text")
        numbering_update(actor=admin, spec=spec, prefix="SUP", next_number=500)

    created, numbering = events(tenant_a, action="settings_changed")
    assert (created.module, created.details) == ("vendors", {"setting": "custom_field_created", "key": "tier"})
    assert created.changes["label"] == [None, "Tier"]
    assert (numbering.module, numbering.actor_id) == ("vendors", admin.pk)
    assert numbering.changes == {"prefix": ["VEN", "SUP"], "next_number": [1, 500]}


def test_settings_screens_log_changes(client_for, tenant_a, admin_of):
    web = client_for(tenant_a, admin_of(tenant_a))

    web.post("/settings/modules/vendors/numbering/", {"number_prefix": "SUP", "next_number": 9})

    assert only(tenant_a, action="settings_changed").changes == {"prefix": ["VEN", "SUP"], "next_number": [1, 9]}


def test_member_and_permission_changes(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    kim = member(tenant_a, email="kim@example.com")

    with tenant_context(tenant_a):
        member_set_admin(actor=admin, member=kim, is_admin=True)
        member_set_admin(actor=admin, member=kim, is_admin=False)
        member_deactivate(actor=admin, member=kim)
        member_reactivate(actor=admin, member=kim)

    rights = events(tenant_a, action="permission_changed")
    assert [(e.record_id, e.record_label, e.changes) for e in rights] == [
        (str(kim.pk), "kim@example.com", {"is_admin": [False, True]}),
        (str(kim.pk), "kim@example.com", {"is_admin": [True, False]}),
    ]
    changed = events(tenant_a, action="member_changed")
    assert [(e.actor_id, e.changes, e.details["operation"]) for e in changed] == [
        (admin.pk, {"active": [True, False]}, "deactivated"),
        (admin.pk, {"active": [False, True]}, "reactivated"),
    ]


def test_invitations_sent_revoked_and_accepted(tenant_a, admin_of, django_capture_on_commit_callbacks):
    admin = admin_of(tenant_a)

    with tenant_context(tenant_a):
        first, _key = invitation_create(actor=admin, email="new@example.com")
        invitation_revoke(actor=admin, invitation=first)
        _second, key = invitation_create(actor=admin, email="new@example.com", is_admin=True)
        joined = invitation_accept(key=key, password="a-long-Passw0rd!", name="New Person")

    invited, revoked, _again, accepted = events(tenant_a, action="member_changed")
    assert (invited.actor_id, invited.record_label, invited.details["operation"]) == (
        admin.pk,
        "new@example.com",
        "invited",
    )
    assert revoked.details == {"operation": "invitation_revoked", "invitation": first.pk, "email": "new@example.com"}
    assert (accepted.actor_id, accepted.actor_label, accepted.record_id) == (
        joined.pk,
        "new@example.com",
        str(joined.pk),
    )
    assert accepted.changes == {"is_admin": [None, True]}
    assert "a-long-Passw0rd!" not in json.dumps([e.details for e in events(tenant_a)])
    with schema_context("alpha"):
        assert Invitation.objects.count() == 2


def test_events_stay_in_their_tenant(tenant_a, tenant_b, admin_of):
    contact(tenant_a, admin_of(tenant_a))

    assert len(events(tenant_a, action="record_created")) == 1
    assert events(tenant_b) == []
    with schema_context("beta"):
        assert not AuditEvent.objects.filter(module="contacts").exists()


def test_api_create_and_update_cost_one_audit_insert_each(client_for, tenant_a, admin_of):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conftest import statements

    token = client_for(tenant_a).post(
        "/api/v1/auth/token",
        {"email": "admin@alpha.example.com", "password": TEST_PASSWORD},
        content_type="application/json",
    )
    api = client_for(tenant_a, HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    spec = registry.get("contacts")

    with CaptureQueriesContext(connection) as created:
        response = api.post("/api/v1/contacts/", spec.example, content_type="application/json")
    with CaptureQueriesContext(connection) as updated:
        api.patch(f"/api/v1/contacts/{response.json()['id']}/", {"title": "CFO"}, content_type="application/json")

    for captured in (created, updated):
        audit_sql = [sql for sql in statements(captured) if "audit_" in sql]
        assert len(audit_sql) == 1 and audit_sql[0].startswith('INSERT INTO "audit_auditevent"'), audit_sql
        # the actor's email comes from the member already loaded with the token, not from a query
        assert not [sql for sql in statements(captured) if sql.startswith('SELECT "tenants_user"."email"')]
