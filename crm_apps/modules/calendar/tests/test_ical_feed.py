"""The .ics download and the secret feed, parsed back with `icalendar`; rights and tenant isolation."""

from __future__ import annotations

import contextlib
import datetime as dt

import icalendar
import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from conftest import host_of
from crm_apps.access.services import sharing_default_set
from crm_apps.modules.calendar.ical import calendar_of, vevent_to_data
from crm_apps.modules.calendar.models import CalendarFeed, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(tenant_a, admin_of):
    return admin_of(tenant_a)


def create_event(client, **extra):
    body = {
        "subject": "Quarterly review",
        "start": "2027-03-22T09:00:00+01:00",
        "end": "2027-03-22T10:30:00+01:00",
        "time_zone": "Europe/Berlin",
        "location": "HQ",
        **extra,
    }
    response = client.post("/api/v1/events/", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_ics_download_parses_back_with_series_exdates_and_alarms(client_for, tenant_a, admin):
    api = client_for(tenant_a, admin)
    event = create_event(api, rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=6", reminders=[15, 60])
    api.delete(f"/api/v1/events/{event['id']}/?occurrence=2027-04-05T07:00:00Z")

    response = api.get(event["ics_url"])

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Content-Disposition"] == f'attachment; filename="{event["number"]}.ics"'
    cal = icalendar.Calendar.from_ical(response.content)
    [vevent] = cal.walk("VEVENT")
    assert str(vevent["summary"]) == "Quarterly review"
    assert vevent.decoded("dtstart") == dt.datetime(2027, 3, 22, 9, 0, tzinfo=vevent.decoded("dtstart").tzinfo)
    assert str(vevent.decoded("dtstart").tzinfo) == "Europe/Berlin"
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    parsed = vevent_to_data(vevent)
    assert parsed["data"]["rrule"] == "FREQ=WEEKLY;COUNT=6;BYDAY=MO"
    assert parsed["data"]["start"] == "2027-03-22T09:00:00+01:00"
    assert parsed["data"]["end"] == "2027-03-22T10:30:00+01:00"
    assert parsed["data"]["time_zone"] == "Europe/Berlin"
    assert parsed["reminders"] == [15, 60]
    assert parsed["exdates"] == [dt.datetime(2027, 4, 5, 7, 0, tzinfo=dt.UTC)]


def test_ics_download_of_another_tenants_event_is_404(client_for, tenant_a, tenant_b, admin, admin_of):
    event = create_event(client_for(tenant_a, admin))

    other = client_for(tenant_b, admin_of(tenant_b))

    assert other.get(event["ics_url"]).status_code == 404
    assert client_for(tenant_a).get(event["ics_url"]).status_code == 302  # anonymous: to the login page


def test_feed_rotates_revokes_and_shows_only_what_the_member_may_see(client_for, tenant_a, admin, member):
    rep = member(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="events", access="private")
    rep_api = client_for(tenant_a, rep)
    admin_api = client_for(tenant_a, admin)
    create_event(rep_api, subject="Rep's own call")
    create_event(admin_api, subject="Board meeting")  # private to the admin: not in the rep's feed
    create_event(admin_api, subject="Invited", invitees=[rep.pk])  # invited, but private: not visible either
    anonymous = Client(HTTP_HOST=host_of(tenant_a))

    first = rep_api.post("/api/v1/me/calendar-feed").json()["url"]
    feed = anonymous.get(first)

    assert feed.status_code == 200
    assert feed["Content-Type"].startswith("text/calendar")
    summaries = [str(v["summary"]) for v in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")]
    assert summaries == ["Rep's own call"]
    with tenant_context(tenant_a):
        stored = CalendarFeed.objects.get(member=rep)
        assert first.rsplit("/", 1)[1].removesuffix(".ics") not in stored.token_hash
        assert len(stored.token_hash) == 64

    second = rep_api.post("/api/v1/me/calendar-feed").json()["url"]

    assert second != first
    assert anonymous.get(first).status_code == 404
    assert anonymous.get(second).status_code == 200
    assert rep_api.delete("/api/v1/me/calendar-feed").status_code == 204
    assert anonymous.get(second).status_code == 404


def test_feed_secret_of_one_tenant_is_404_on_another(client_for, tenant_a, tenant_b, admin):
    url = client_for(tenant_a, admin).post("/api/v1/me/calendar-feed").json()["url"]
    path = url.split(host_of(tenant_a), 1)[1]

    assert Client(HTTP_HOST=host_of(tenant_b)).get(path).status_code == 404
    assert Client(HTTP_HOST=host_of(tenant_a)).get(path).status_code == 200


def test_feed_of_a_deactivated_member_is_404(client_for, tenant_a, member):
    rep = member(tenant_a)
    url = client_for(tenant_a, rep).post("/api/v1/me/calendar-feed").json()["url"]
    with tenant_context(tenant_a):
        type(rep).objects.filter(pk=rep.pk).update(active=False)

    assert Client(HTTP_HOST=host_of(tenant_a)).get(url.split(host_of(tenant_a), 1)[1]).status_code == 404


def test_feed_of_a_deactivated_user_account_is_404(client_for, tenant_a, member):
    rep = member(tenant_a)
    url = client_for(tenant_a, rep).post("/api/v1/me/calendar-feed").json()["url"]
    path = url.split(host_of(tenant_a), 1)[1]
    before = Client(HTTP_HOST=host_of(tenant_a)).get(path)
    type(rep.user).objects.filter(pk=rep.user.pk).update(is_active=False)

    assert before.status_code == 200
    assert Client(HTTP_HOST=host_of(tenant_a)).get(path).status_code == 404


def test_anonymous_cannot_create_a_feed(client_for, tenant_a):
    assert client_for(tenant_a).post("/api/v1/me/calendar-feed").status_code in (401, 403)


def test_all_day_event_round_trip(tenant_a, admin):
    with tenant_context(tenant_a):
        from crm_apps.modules.calendar.services import event_create

        event = event_create(
            actor=admin,
            data={
                "subject": "Trade fair",
                "start": "2027-05-10T00:00:00+02:00",
                "end": "2027-05-11T23:59:59+02:00",
                "all_day": True,
                "time_zone": "Europe/Berlin",
            },
        )
        event = Event.objects.get(pk=event.pk)
        [vevent] = icalendar.Calendar.from_ical(calendar_of([event])).walk("VEVENT")

    assert vevent.decoded("dtstart") == dt.date(2027, 5, 10)
    assert vevent.decoded("dtend") == dt.date(2027, 5, 12)
    data = vevent_to_data(vevent, default_time_zone="Europe/Berlin")["data"]
    assert (data["all_day"], data["start"], data["end"]) == (
        True,
        "2027-05-10T00:00:00+02:00",
        "2027-05-11T23:59:59+02:00",
    )


def test_invitees_get_the_moved_event_and_then_its_cancellation(
    client_for, tenant_a, admin, member, django_capture_on_commit_callbacks
):
    from django.core import mail

    colleague = member(tenant_a)
    api = client_for(tenant_a, admin)
    with django_capture_on_commit_callbacks(execute=True):
        event = create_event(api, invitees=[colleague.pk])
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(
            f"/api/v1/events/{event['id']}/",
            {"start": "2027-03-23T09:00:00+01:00", "end": "2027-03-23T10:00:00+01:00"},
            content_type="application/json",
        )
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"/api/v1/events/{event['id']}/", {"description": "Agenda attached"}, content_type="application/json")
    with django_capture_on_commit_callbacks(execute=True):
        api.delete(f"/api/v1/events/{event['id']}/")

    sent = [(m.subject, icalendar.Calendar.from_ical(m.attachments[0][1])) for m in mail.outbox]
    assert [subject for subject, _cal in sent] == [
        "Invitation: Quarterly review",
        "Invitation: Quarterly review",
        "Cancelled: Quarterly review",
    ]
    methods = [str(cal["method"]) for _subject, cal in sent]
    sequences = [cal.walk("VEVENT")[0].decoded("sequence") for _subject, cal in sent]
    assert methods == ["REQUEST", "REQUEST", "CANCEL"]
    assert sequences == [0, 1, 1]
    moved = sent[1][1].walk("VEVENT")[0]
    assert moved.decoded("dtstart").isoformat() == "2027-03-23T09:00:00+01:00"
    assert {str(a) for a in [moved["attendee"]]} == {f"mailto:{colleague.user.email}"}
    assert all(m.to == [colleague.user.email] for m in mail.outbox)


def test_hidden_event_fields_stay_out_of_the_feed_the_ics_and_the_window_api(client_for, tenant_a, admin, member):
    from crm_apps.access.models import Role
    from crm_apps.access.services import profile_save, profile_set_fields, role_create

    with tenant_context(tenant_a):
        profile = profile_save(actor=admin, profile=None, name="No places", flags={})
        profile_set_fields(
            actor=admin, profile=profile, module="events", access={"description": "hidden", "location": "hidden"}
        )
        top = Role.objects.get(parent__isnull=True)
        role = role_create(actor=admin, name="Placeless", parent=top, profile_ids=[profile.pk])
    rep = member(tenant_a, role=role)
    rep_api = client_for(tenant_a, rep)
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(microsecond=0)
    event = create_event(
        client_for(tenant_a, admin),
        subject="Secret place",
        start=start.isoformat(),
        end=(start + dt.timedelta(hours=1)).isoformat(),
        location="Bunker 7",
        description="Bring the codes",
        invitees=[rep.pk],
    )
    feed_url = rep_api.post("/api/v1/me/calendar-feed").json()["url"]

    feed = Client(HTTP_HOST=host_of(tenant_a)).get(feed_url.split(host_of(tenant_a), 1)[1])
    ics = rep_api.get(event["ics_url"])
    window = rep_api.get(
        "/api/v1/events/",
        {"start": (start - dt.timedelta(days=1)).isoformat(), "end": (start + dt.timedelta(days=1)).isoformat()},
    )

    assert feed.status_code == ics.status_code == window.status_code == 200
    for body in (feed.content, ics.content):
        [vevent] = icalendar.Calendar.from_ical(body).walk("VEVENT")
        assert str(vevent["summary"]) == "Secret place"
        assert "LOCATION" not in vevent
        assert "DESCRIPTION" not in vevent
        assert b"Bunker" not in body
        assert b"codes" not in body
    [row] = window.json()["results"]
    assert row["subject"] == "Secret place"
    assert "location" not in row
    assert "description" not in row


def test_an_smtp_error_on_one_invitee_resends_nobody_else(
    client_for, tenant_a, admin, member, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core import mail
    from django.core.mail import EmailMessage

    colleagues = [member(tenant_a) for _i in range(3)]
    failing = colleagues[2].user.email
    real_send = EmailMessage.send
    failed: list[str] = []

    def flaky_send(self, fail_silently=False):
        if self.to == [failing] and not failed:
            failed.append(failing)
            raise OSError("SMTP connection lost")
        return real_send(self, fail_silently)

    monkeypatch.setattr(EmailMessage, "send", flaky_send)

    from crm_apps.modules.calendar.tasks import invitation_send_one_task

    with contextlib.suppress(Exception), django_capture_on_commit_callbacks(execute=True):
        create_event(client_for(tenant_a, admin), invitees=[c.pk for c in colleagues])
    first_round = sorted(m.to[0] for m in mail.outbox)
    with tenant_context(tenant_a):  # the failed recipient's own retry, as the worker runs it later
        invitation_send_one_task(Event.objects.get(subject="Quarterly review").pk, colleagues[2].pk, "REQUEST")

    assert failed == [failing]
    assert first_round == sorted(c.user.email for c in colleagues[:2])
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.user.email for c in colleagues)
