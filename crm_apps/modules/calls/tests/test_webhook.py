"""The signed telephony webhook: signatures, validation, idempotency by call_id, out-of-order events."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.audit.models import AuditEvent
from crm_apps.engine.models import TimelineEntry
from crm_apps.modules.calls.models import Call, CallMatch

pytestmark = pytest.mark.django_db

RINGING = {
    "call_id": "pbx-1",
    "status": "ringing",
    "direction": "inbound",
    "from": "+1 415 555 0132",
    "to": "+1 415 555 0100",
    "extension": "201",
    "timestamp": "2027-01-11T09:30:00Z",
}


def calls_in(tenant):
    with tenant_context(tenant):
        return list(Call.objects.order_by("created_at").values("provider_call_id", "status", "duration"))


def test_a_signed_event_creates_a_call(tenant_a, secret_of, deliver):
    secret = secret_of(tenant_a)

    response = deliver(tenant_a, secret, RINGING)

    assert response.status_code == 201, response.content
    assert response.json()["created"] is True
    with tenant_context(tenant_a):
        call = Call.objects.get()
        assert (call.status, call.direction, call.from_number) == ("Ringing", "Inbound", "+1 415 555 0132")
        assert call.customer_number == "+14155550132"
        assert call.number.startswith("CALL")
        assert TimelineEntry.objects.filter(module="calls", record_id=call.pk, kind="created").count() == 1
        assert AuditEvent.objects.filter(module="calls", record_id=str(call.pk)).count() == 1


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=" + "0" * 64, "md5=abc", "sha256="],
    ids=["missing", "wrong", "other-scheme", "empty"],
)
def test_a_bad_or_missing_signature_is_401_and_writes_nothing(tenant_a, secret_of, deliver, signature):
    secret = secret_of(tenant_a)

    response = deliver(tenant_a, secret, RINGING, signature=signature)

    assert response.status_code == 401
    assert calls_in(tenant_a) == []


def test_another_tenants_secret_is_refused(tenant_a, tenant_b, secret_of, deliver):
    secret_of(tenant_a)
    secret_b = secret_of(tenant_b)

    response = deliver(tenant_a, secret_b, RINGING)

    assert response.status_code == 401
    assert calls_in(tenant_a) == []
    assert calls_in(tenant_b) == []


def test_without_a_secret_every_event_is_refused(tenant_a, deliver):
    response = deliver(tenant_a, "", RINGING, signature="sha256=" + "0" * 64)

    assert response.status_code == 401


def test_a_rotated_secret_stops_the_old_one(tenant_a, secret_of, deliver):
    old = secret_of(tenant_a)
    new = secret_of(tenant_a)

    assert deliver(tenant_a, old, RINGING).status_code == 401
    assert deliver(tenant_a, new, RINGING).status_code == 201


def test_malformed_events_are_400_with_field_messages_and_write_nothing(tenant_a, secret_of, deliver):
    secret = secret_of(tenant_a)

    not_json = deliver(tenant_a, secret, b"{not json")
    not_object = deliver(tenant_a, secret, [1, 2])
    bad = deliver(tenant_a, secret, {**RINGING, "status": "exploded", "timestamp": "yesterday", "duration": -1})
    missing = deliver(tenant_a, secret, {"status": "ringing"})

    assert (not_json.status_code, not_object.status_code, bad.status_code) == (400, 400, 400)
    assert set(bad.json()) == {"status", "timestamp", "duration"}
    assert set(missing.json()) == {"call_id", "timestamp"}
    assert calls_in(tenant_a) == []


def test_the_same_call_id_twice_updates_one_call(tenant_a, secret_of, deliver):
    secret = secret_of(tenant_a)

    first = deliver(tenant_a, secret, RINGING)
    again = deliver(tenant_a, secret, RINGING)
    answered = deliver(tenant_a, secret, {**RINGING, "status": "answered", "timestamp": "2027-01-11T09:30:07Z"})
    ended = deliver(
        tenant_a,
        secret,
        {
            **RINGING,
            "status": "answered",
            "timestamp": "2027-01-11T09:32:00Z",
            "duration": 113,
            "recording_url": "https://pbx.example/rec/1.wav",
        },
    )

    assert (first.status_code, again.status_code, answered.status_code, ended.status_code) == (201, 200, 200, 200)
    assert first.json()["id"] == again.json()["id"] == ended.json()["id"]
    with tenant_context(tenant_a):
        call = Call.objects.get()
        assert (call.status, call.duration, call.recording_url) == ("Answered", 113, "https://pbx.example/rec/1.wav")
        assert call.answered_at.isoformat() == "2027-01-11T09:30:07+00:00"
        assert call.started_at.isoformat() == "2027-01-11T09:30:00+00:00"


def test_out_of_order_events_end_in_the_same_state(tenant_a, secret_of, deliver):
    secret = secret_of(tenant_a)
    missed = {**RINGING, "status": "missed", "timestamp": "2027-01-11T09:30:30Z"}

    deliver(tenant_a, secret, missed)
    deliver(tenant_a, secret, RINGING)  # the ringing event arrives late

    with tenant_context(tenant_a):
        call = Call.objects.get()
        assert call.status == "Missed"
        assert call.started_at.isoformat() == "2027-01-11T09:30:00+00:00"
        assert call.answered_at is None


def test_between_final_statuses_the_later_event_wins(tenant_a, secret_of, deliver):
    secret = secret_of(tenant_a)

    deliver(tenant_a, secret, {**RINGING, "status": "failed", "timestamp": "2027-01-11T09:31:00Z"})
    deliver(tenant_a, secret, {**RINGING, "status": "busy", "timestamp": "2027-01-11T09:30:10Z"})

    assert [c["status"] for c in calls_in(tenant_a)] == ["Failed"]


def test_the_call_lands_on_the_matched_contacts_timeline(tenant_a, admin_of, secret_of, deliver):
    from crm_apps.engine import registry
    from crm_apps.engine.services import record_create

    with tenant_context(tenant_a):
        contact = record_create(
            spec=registry.get("contacts"),
            actor=admin_of(tenant_a),
            data={"last_name": "Caller", "mobile": "(415) 555-0132"},
        )
    secret = secret_of(tenant_a)

    deliver(tenant_a, secret, RINGING)
    deliver(tenant_a, secret, {**RINGING, "status": "answered", "timestamp": "2027-01-11T09:30:05Z"})

    with tenant_context(tenant_a):
        call = Call.objects.get()
        assert list(CallMatch.objects.values_list("module", "record_id")) == [("contacts", contact.pk)]
        related = TimelineEntry.objects.filter(module="contacts", record_id=contact.pk, kind="related")
        assert [e.data["id"] for e in related] == [str(call.pk)]


def test_the_same_call_id_in_two_workspaces_makes_one_call_in_each(tenant_a, tenant_b, secret_of, deliver):
    secret_a, secret_b = secret_of(tenant_a), secret_of(tenant_b)

    first = deliver(tenant_a, secret_a, RINGING)
    second = deliver(tenant_b, secret_b, RINGING)
    answered = deliver(tenant_b, secret_b, {**RINGING, "status": "answered", "timestamp": "2027-01-11T09:30:05Z"})

    assert (first.status_code, second.status_code, answered.status_code) == (201, 201, 200)
    assert calls_in(tenant_a) == [{"provider_call_id": "pbx-1", "status": "Ringing", "duration": None}]
    assert calls_in(tenant_b) == [{"provider_call_id": "pbx-1", "status": "Answered", "duration": None}]


def test_a_body_over_the_limit_is_400_and_writes_nothing(tenant_a, secret_of, deliver):
    secret = secret_of(tenant_a)

    response = deliver(tenant_a, secret, {**RINGING, "padding": "x" * 70_000})

    assert response.status_code == 400
    assert calls_in(tenant_a) == []
