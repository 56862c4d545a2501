"""The Asterisk AMI relay replays a recorded AMI stream into signed webhook events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.calls import ami
from crm_apps.modules.calls.models import Call, CallMatch
from crm_apps.modules.calls.settings_store import telephony_member_set

pytestmark = pytest.mark.django_db
STREAM = Path(__file__).with_name("ami_recorded_stream.txt")


def recorded_payloads() -> list[dict]:
    with STREAM.open(encoding="utf-8", newline="") as stream:
        tracker = ami.AmiCallTracker()
        return [p for event in ami.ami_events(stream) for p in tracker.feed(event)]


def test_the_recorded_stream_becomes_call_events_in_order():
    payloads = recorded_payloads()

    assert [(p["call_id"], p["status"], p.get("duration")) for p in payloads] == [
        ("ami-1800000000.101", "ringing", None),
        ("ami-1800000000.101", "answered", None),
        ("ami-1800000000.101", "answered", 113),
        ("ami-1800000300.201", "ringing", None),
        ("ami-1800000302.301", "ringing", None),
        ("ami-1800000302.301", "busy", None),
        ("ami-1800000300.201", "missed", None),
    ]
    first, outbound = payloads[0], payloads[4]
    assert (first["direction"], first["from"], first["to"], first["extension"]) == (
        "inbound",
        "+14155550132",
        "4155550100",
        "201",
    )
    assert (outbound["direction"], outbound["from"], outbound["to"], outbound["extension"]) == (
        "outbound",
        "202",
        "4155550177",
        "202",
    )
    assert first["timestamp"] == "2027-01-15T08:00:00.200000Z"


def test_the_relay_command_posts_signed_events_the_webhook_accepts(
    tenant_a, admin_of, member, secret_of, client_for, tmp_path, monkeypatch
):
    admin = admin_of(tenant_a)
    rep = member(tenant_a)
    with tenant_context(tenant_a):
        telephony_member_set(actor=admin, member=rep, extension="201")
        person = record_create(
            spec=registry.get("contacts"), actor=admin, data={"last_name": "Ami", "phone": "415-555-0132"}
        )
    secret = secret_of(tenant_a)
    secret_file = tmp_path / "secret"
    secret_file.write_text(secret + "\n")
    web = client_for(tenant_a)
    statuses: list[int] = []

    def send(url: str, body: bytes, headers: dict[str, str]) -> int:
        assert url == "https://alpha.example/api/v1/telephony/events"
        response = web.post(
            "/api/v1/telephony/events",
            data=body,
            content_type="application/json",
            HTTP_X_SIGNATURE=headers["X-Signature"],
        )
        statuses.append(response.status_code)
        return response.status_code

    monkeypatch.setattr(ami, "post_signed", send)
    call_command(
        "telephony_ami_relay",
        url="https://alpha.example/api/v1/telephony/events",
        secret_file=str(secret_file),
        file=str(STREAM),
    )

    assert statuses == [201, 200, 200, 201, 201, 200, 200]
    with tenant_context(tenant_a):
        calls = {c.provider_call_id: c for c in Call.objects.all()}
        answered = calls["ami-1800000000.101"]
        assert (answered.status, answered.duration, answered.member_id) == ("Answered", 113, rep.pk)
        assert calls["ami-1800000300.201"].status == "Missed"
        assert calls["ami-1800000302.301"].status == "Busy"
        assert calls["ami-1800000302.301"].direction == "Outbound"
        assert list(CallMatch.objects.filter(call=answered).values_list("record_id", flat=True)) == [person.pk]


def test_signatures_match_the_webhook_check():
    from crm_apps.modules.calls.api import signature_valid

    body = json.dumps({"call_id": "x"}).encode()

    assert signature_valid(body=body, header=ami.sign(body, "s3cret"), secret="s3cret")
    assert not signature_valid(body=body + b" ", header=ami.sign(body, "s3cret"), secret="s3cret")
