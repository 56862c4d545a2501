"""Answering invitations: on the event page, in the notification centre, on the home page, through a
signed email link (only that invitee, only that tenant, until it expires) and through the API."""

from __future__ import annotations

import re

import pytest
from django.core import mail, signing
from django_tenants.utils import tenant_context

from crm_apps.modules.calendar.invitations import answer_token, answer_token_read
from crm_apps.modules.calendar.models import EventInvitee
from crm_apps.modules.calendar.services import event_create, event_delete

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(tenant_a, admin_of):
    return admin_of(tenant_a)


def invite(tenant, organiser, *guests, subject="Planning"):
    with tenant_context(tenant):
        return event_create(
            actor=organiser,
            data={"subject": subject, "start": "2030-03-01T09:00:00Z", "end": "2030-03-01T10:00:00Z"},
            invitees=[g.pk for g in guests],
        )


def answer_of(tenant, event, member):
    with tenant_context(tenant):
        return EventInvitee.objects.get(event=event, member=member)


def test_invitee_answers_on_the_event_page_and_the_organiser_sees_it(client_for, tenant_a, admin, member):
    ann = member(tenant_a)
    event = invite(tenant_a, admin, ann)
    as_ann = client_for(tenant_a, ann)

    page = as_ann.get(f"/m/events/{event.pk}/")
    assert page.status_code == 200
    assert b"data-my-invitation" in page.content and b'value="accepted"' in page.content

    answered = as_ann.post(
        f"/calendar/events/{event.pk}/respond/",
        {"response": "tentative", "comment": "Running late", "next": f"/m/events/{event.pk}/"},
    )
    assert answered.status_code == 302 and answered["Location"] == f"/m/events/{event.pk}/"
    row = answer_of(tenant_a, event, ann)
    assert (row.response, row.comment) == ("tentative", "Running late")
    assert row.responded_at is not None

    with tenant_context(tenant_a):
        from crm_apps.notifications.models import Notification

        told = Notification.objects.get(recipient=admin, kind="invitation_answer")
        assert (told.actor_id, told.params["answer"], told.params["body"]) == (ann.pk, "Tentative", "Running late")
    inbox = client_for(tenant_a, admin).get("/notifications/").content.decode()
    assert "answered “Tentative” to Planning" in inbox

    organiser_view = client_for(tenant_a, admin).get(f"/m/events/{event.pk}/").content.decode()
    assert "Running late" in organiser_view
    assert "Tentative" in organiser_view
    assert "data-my-invitation" not in organiser_view  # the organiser has nothing to answer


def test_nobody_answers_for_someone_else(client_for, tenant_a, admin, member):
    ann, bob = member(tenant_a), member(tenant_a)
    event = invite(tenant_a, admin, ann)

    refused = client_for(tenant_a, bob).post(f"/calendar/events/{event.pk}/respond/", {"response": "accepted"})
    assert refused.status_code == 403
    bad = client_for(tenant_a, ann).post(f"/calendar/events/{event.pk}/respond/", {"response": "needs_action"})
    assert bad.status_code == 302  # a form error as a message, nothing saved
    assert answer_of(tenant_a, event, ann).response == "needs_action"
    api = client_for(tenant_a, bob).post(
        f"/api/v1/events/{event.pk}/respond", {"response": "accepted"}, content_type="application/json"
    )
    assert api.status_code == 403


def test_invitation_in_the_notification_centre_and_home_has_answer_buttons(client_for, tenant_a, admin, member):
    ann = member(tenant_a)
    event = invite(tenant_a, admin, ann, subject="Quarterly review")
    client = client_for(tenant_a, ann)

    centre = client.get("/notifications/").content.decode()
    assert f"/calendar/events/{event.pk}/respond/" in centre
    home = client.get("/").content.decode()
    assert "Invitations to answer" in home
    assert "Quarterly review" in home

    client.post(f"/calendar/events/{event.pk}/respond/", {"response": "accepted", "next": "/notifications/"})
    with tenant_context(tenant_a):
        from crm_apps.notifications.models import Notification

        assert Notification.objects.get(recipient=ann, kind="invitation").read_at is not None
    home_after = client.get("/").content.decode()
    assert "No invitations waiting for your answer" in home_after

    # A deleted event offers no answer any more.
    with tenant_context(tenant_a):
        event_delete(actor=admin, event=event)
    assert f"/calendar/events/{event.pk}/respond/" not in client.get("/notifications/").content.decode()


def test_invitation_email_links_answer_for_that_invitee_only(
    client_for, tenant_a, tenant_b, admin, member, django_capture_on_commit_callbacks
):
    ann, bob = member(tenant_a), member(tenant_a)
    mail.outbox.clear()
    with tenant_context(tenant_a), django_capture_on_commit_callbacks(execute=True):
        event = event_create(
            actor=admin,
            data={"subject": "Planning", "start": "2030-03-01T09:00:00Z", "end": "2030-03-01T10:00:00Z"},
            invitees=[ann.pk, bob.pk],
        )
    to_ann = next(m for m in mail.outbox if m.to == [ann.user.email])
    links = re.findall(r"https?://\S+/calendar/invitations/\S+", str(to_ann.body))
    assert len(links) == 3 and any("answer=declined" in link for link in links)
    assert to_ann.attachments and "METHOD:REQUEST" in to_ann.attachments[0][1]
    decline = next(link for link in links if "answer=declined" in link)
    path = decline.split("://", 1)[1].split("/", 1)[1]
    anonymous = client_for(tenant_a)

    page = anonymous.get("/" + path)
    assert page.status_code == 200
    assert "Planning" in page.content.decode()
    assert answer_of(tenant_a, event, ann).response == "needs_action"  # opening the link answers nothing

    form_path = "/" + path.split("?", 1)[0]
    done = anonymous.post(form_path, {"response": "declined", "comment": "On holiday"})
    assert done.status_code == 200
    assert "You declined the invitation." in done.content.decode()
    assert (answer_of(tenant_a, event, ann).response, answer_of(tenant_a, event, bob).response) == (
        "declined",
        "needs_action",
    )

    # The same link on another tenant's host, a tampered one, or one for a member no longer invited: 404.
    assert client_for(tenant_b).get(form_path).status_code == 404
    assert anonymous.get(form_path[:-3] + "xyz/").status_code == 404
    with tenant_context(tenant_a):
        EventInvitee.objects.filter(event=event, member=ann).delete()
    assert anonymous.post(form_path, {"response": "accepted"}).status_code == 404


def test_answer_tokens_are_tenant_bound_and_expire(tenant_a, settings, monkeypatch):
    token = answer_token(schema="alpha", event_id="6d0c1c4e-6a39-4d1b-9a84-1b5ab9a8b2a1", member_id=7)

    read = answer_token_read(token, schema="alpha")
    assert read is not None and read[1] == 7
    assert answer_token_read(token, schema="beta") is None
    forged = signing.dumps(
        {"t": "beta", "e": "6d0c1c4e-6a39-4d1b-9a84-1b5ab9a8b2a1", "m": 7}, salt="calendar.invitation-answer:alpha"
    )
    assert answer_token_read(forged, schema="alpha") is None
    import time

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 31 * 86400)
    assert answer_token_read(token, schema="alpha") is None


def test_api_respond_takes_a_comment(client_for, tenant_a, admin, member):
    ann = member(tenant_a)
    event = invite(tenant_a, admin, ann)
    answered = client_for(tenant_a, ann).post(
        f"/api/v1/events/{event.pk}/respond",
        {"response": "accepted", "comment": "See you there"},
        content_type="application/json",
    )
    assert answered.status_code == 200, answered.json()
    assert answered.json() == {"member": ann.pk, "response": "accepted", "comment": "See you there"}
    too_long = client_for(tenant_a, ann).post(
        f"/api/v1/events/{event.pk}/respond",
        {"response": "accepted", "comment": "x" * 501},
        content_type="application/json",
    )
    assert too_long.status_code == 400 and "comment" in too_long.json()
