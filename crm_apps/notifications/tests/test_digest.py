"""The daily digest: unread notifications not yet emailed, from the morning of the member's time zone,
exactly once per member and day, even when two schedulers run at the same moment."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from crm_apps.access.models import Member
from crm_apps.engine import registry, services
from crm_apps.notifications import kinds, tasks
from crm_apps.notifications.models import DigestRun, Notification
from crm_apps.notifications.services import digest_send, digests_send_due, notification_send, preferences_set
from tenants.services import tenant_provision

CONTACTS = registry.get("contacts")
MORNING = dt.datetime(2026, 12, 4, 8, 30, tzinfo=dt.UTC)


def _inbox(actor: Any, recipient: Any, *, when: dt.datetime) -> list[Any]:
    record = services.record_create(spec=CONTACTS, actor=actor, data={"last_name": "Digest"})
    sent = []
    for kind, name in ((kinds.RECORD_CHANGED, "Followed"), (kinds.ASSIGNMENT, "Emailed"), (kinds.MENTION, "Read")):
        n = notification_send(
            recipient=recipient,
            kind=kind,
            module="contacts",
            record_id=record.pk,
            actor=actor,
            params={"record": name, "field": "stage", "body": f"{name} body"},
            url=f"/m/contacts/{record.pk}/",
        )
        assert n is not None
        sent.append(n)
    Notification.objects.filter(pk__in=[n.pk for n in sent]).update(created_at=when - dt.timedelta(hours=2))
    Notification.objects.filter(pk=sent[2].pk).update(read_at=when)
    return sent


@pytest.mark.django_db
def test_the_digest_lists_what_is_unread_and_not_yet_emailed_once_a_day(
    tenant_a, admin_of, member, mailoutbox, django_capture_on_commit_callbacks
):
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        mia = member(tenant_a, email="mia-digest@example.com")
        preferences_set(member=mia, channels={kinds.MENTION: "inapp"}, digest=True)
        _inbox(admin, mia, when=MORNING)
        mailoutbox.clear()  # the assignment went out by email at once

        with django_capture_on_commit_callbacks(execute=True):
            first = digest_send(member=mia, now=MORNING)
            same_day = digest_send(member=mia, now=MORNING + dt.timedelta(hours=5))
        next_day = digest_send(member=mia, now=MORNING + dt.timedelta(days=1))

        assert (first, same_day, next_day) == (1, 0, 0)  # the next day finds nothing new
        assert DigestRun.objects.filter(member=mia).count() == 2
        assert Notification.objects.filter(recipient=mia, emailed_at__isnull=True).count() == 1  # the read one
    assert len(mailoutbox) == 1
    body = mailoutbox[0].body
    assert mailoutbox[0].to == ["mia-digest@example.com"]
    assert f"{admin.user.name} changed stage of Followed" in body
    assert "Emailed" not in body and "Read body" not in body
    assert "/notifications/preferences/" in body


@pytest.mark.django_db
def test_the_digest_waits_for_the_members_morning_and_needs_a_subscription(tenant_a, admin_of, member):
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        angeleno = member(tenant_a)
        Member.objects.filter(pk=angeleno.pk).update(timezone="America/Los_Angeles")
        angeleno.refresh_from_db()
        unsubscribed = member(tenant_a)
        preferences_set(member=angeleno, channels={}, digest=True)
        _inbox(admin, angeleno, when=MORNING)
        _inbox(admin, unsubscribed, when=MORNING)

        at_0030_local = digest_send(member=angeleno, now=MORNING)  # 00:30 in Los Angeles
        at_0730_local = digest_send(member=angeleno, now=MORNING + dt.timedelta(hours=7))
        never = digest_send(member=unsubscribed, now=MORNING)

        assert (at_0030_local, at_0730_local, never) == (0, 1, 0)
        assert DigestRun.objects.get(member=angeleno).day == dt.date(2026, 12, 4)


@pytest.mark.django_db
def test_the_beat_task_fans_out_to_each_tenant_in_its_schema(tenant_a, monkeypatch):
    sent: list[str | None] = []
    monkeypatch.setattr(
        tasks.digests_send_task, "apply_async", lambda args, headers: sent.append(headers["_schema_name"])
    )

    count = tasks.digests_send_all_task()

    assert count == len(sent) and "alpha" in sent and "beta" in sent


def test_two_schedulers_at_the_same_moment_send_one_digest(committed, monkeypatch):
    # Given a committed tenant whose member has unread notifications and wants the digest
    admin_user = committed.email()
    from tenants.models import User

    tenant = tenant_provision(
        slug=committed.slug("dg"), name="Digest", admin=User.objects.create_user(admin_user, "a-long-pass-9", name="A")
    )
    with schema_context(tenant.schema_name):
        admin = Member.objects.select_related("user").get(is_admin=True)
        colleague_user = User.objects.create_user(committed.email(), "a-long-pass-9", name="C")
        from crm_apps.access.services import member_create

        colleague = member_create(tenant=tenant, user=colleague_user)
        preferences_set(member=colleague, channels={}, digest=True)
        _inbox(admin, colleague, when=MORNING)
    queued: list[str] = []
    monkeypatch.setattr("crm_apps.notifications.services.mail_enqueue", lambda **kw: queued.append(kw["subject"]))
    barrier = threading.Barrier(2)
    results: list[int] = []

    def scheduler() -> None:
        try:
            with schema_context(tenant.schema_name):
                barrier.wait()
                results.append(digests_send_due(now=MORNING))
        finally:
            connection.close()

    # When two schedulers run the digests at once
    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Then exactly one digest was sent
    assert sorted(results) == [0, 1]
    assert len(queued) == 1
    with schema_context(tenant.schema_name):
        assert DigestRun.objects.filter(member=colleague).count() == 1
