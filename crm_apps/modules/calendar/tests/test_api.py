"""Events and tasks API: related records, invitees, reminders, window expansion, validation, rights."""

from __future__ import annotations

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from crm_apps.engine.models import TimelineEntry
from crm_apps.modules.calendar.models import Event, EventInvitee, EventLink, EventReminder, Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(tenant_a, admin_of):
    return admin_of(tenant_a)


@pytest.fixture
def api(client_for, tenant_a, admin):
    return client_for(tenant_a, admin)


def post(api, url, body):
    return api.post(url, body, content_type="application/json")


def make_deal(api):
    response = post(api, "/api/v1/deals/", {"name": "Hammocks", "close_date": "2027-01-31"})
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_event_with_related_record_invitees_and_reminders(
    api, tenant_a, member, admin, django_capture_on_commit_callbacks
):
    colleague = member(tenant_a)
    deal = make_deal(api)

    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api,
            "/api/v1/events/",
            {
                "subject": "Kick-off",
                "start": "2027-03-01T09:00:00+01:00",
                "end": "2027-03-01T10:00:00+01:00",
                "time_zone": "Europe/Berlin",
                "related_to": {"module": "deals", "id": deal["id"]},
                "invitees": [colleague.pk],
                "reminders": [1440, 15],
                "rrule": "freq=weekly;byday=MO,WE",
            },
        )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["related_to"] == {"module": "deals", "id": deal["id"]}
    assert body["invitees"] == [{"member": colleague.pk, "response": "needs_action"}]
    assert body["reminders"] == [15, 1440]
    assert body["rrule"] == "FREQ=WEEKLY;BYDAY=MO,WE"
    assert body["start"] == "2027-03-01T08:00:00+00:00"
    with tenant_context(tenant_a):
        entry = TimelineEntry.objects.get(module="deals", record_id=deal["id"], kind=TimelineEntry.Kind.RELATED)
        assert entry.data["module"] == "events"
        assert entry.data["id"] == body["id"]
    [invitation] = mail.outbox
    assert invitation.to == [colleague.user.email]
    _name, content, mimetype = invitation.attachments[0]
    assert mimetype.startswith("text/calendar; method=REQUEST")
    assert b"METHOD:REQUEST" in (content if isinstance(content, bytes) else content.encode())


def test_window_expands_a_weekly_series(api):
    post(
        api,
        "/api/v1/events/",
        {
            "subject": "Stand-up",
            "start": "2027-03-01T09:00:00+01:00",
            "end": "2027-03-01T09:15:00+01:00",
            "time_zone": "Europe/Berlin",
            "rrule": "FREQ=WEEKLY;BYDAY=MO,WE",
        },
    )

    response = api.get("/api/v1/events/", {"start": "2027-03-22T00:00:00Z", "end": "2027-04-05T00:00:00Z"})

    assert response.status_code == 200
    starts = [o["start"] for o in response.json()["results"]]
    # Berlin moves to summer time on 28 March 2027: 09:00 local is 08:00 UTC before, 07:00 UTC after.
    assert starts == [
        "2027-03-22T08:00:00+00:00",
        "2027-03-24T08:00:00+00:00",
        "2027-03-29T07:00:00+00:00",
        "2027-03-31T07:00:00+00:00",
    ]


def test_bad_input_is_400_per_field_and_writes_nothing(api, tenant_a):
    response = post(
        api,
        "/api/v1/events/",
        {
            "subject": "",
            "start": "2027-03-01T10:00:00Z",
            "end": "2027-03-01T09:00:00Z",
            "time_zone": "Mars/Olympus",
            "rrule": "FREQ=SECONDLY",
            "reminders": [-5],
            "invitees": [999999],
            "related_to": {"module": "deals", "id": "00000000-0000-0000-0000-000000000000"},
        },
    )

    assert response.status_code == 400
    errors = response.json()
    assert {"subject", "time_zone", "rrule", "reminders", "invitees", "related_to"} <= set(errors)
    with tenant_context(tenant_a):
        assert Event.objects.count() == 0
        assert EventReminder.objects.count() == 0
        assert EventLink.objects.count() == 0


def test_end_before_start_is_refused(api, tenant_a):
    response = post(
        api, "/api/v1/events/", {"subject": "Oops", "start": "2027-03-01T10:00:00Z", "end": "2027-03-01T09:00:00Z"}
    )

    assert response.status_code == 400
    assert "end" in response.json()


def test_edit_this_occurrence_and_this_and_following(api, tenant_a):
    created = post(
        api,
        "/api/v1/events/",
        {
            "subject": "Review",
            "start": "2027-03-01T09:00:00Z",
            "end": "2027-03-01T10:00:00Z",
            "rrule": "FREQ=DAILY;COUNT=10",
        },
    ).json()

    moved = api.patch(
        f"/api/v1/events/{created['id']}/",
        {
            "occurrence": "2027-03-03T09:00:00Z",
            "scope": "this",
            "start": "2027-03-03T14:00:00Z",
            "end": "2027-03-03T15:00:00Z",
        },
        content_type="application/json",
    )
    split = api.patch(
        f"/api/v1/events/{created['id']}/",
        {"occurrence": "2027-03-06T09:00:00Z", "scope": "following", "subject": "Review (new slot)"},
        content_type="application/json",
    )

    assert moved.status_code == 200, moved.json()
    assert split.status_code == 200, split.json()
    window = api.get("/api/v1/events/", {"start": "2027-03-01T00:00:00Z", "end": "2027-03-20T00:00:00Z"}).json()
    rows = [(o["start"][:16], o["subject"]) for o in window["results"]]
    assert rows == [
        ("2027-03-01T09:00", "Review"),
        ("2027-03-02T09:00", "Review"),
        ("2027-03-03T14:00", "Review"),
        ("2027-03-04T09:00", "Review"),
        ("2027-03-05T09:00", "Review"),
        ("2027-03-06T09:00", "Review (new slot)"),
        ("2027-03-07T09:00", "Review (new slot)"),
        ("2027-03-08T09:00", "Review (new slot)"),
        ("2027-03-09T09:00", "Review (new slot)"),
        ("2027-03-10T09:00", "Review (new slot)"),
    ]
    assert split.json()["rrule"] == "FREQ=DAILY;COUNT=5"


def test_delete_one_occurrence(api):
    created = post(
        api,
        "/api/v1/events/",
        {
            "subject": "Gym",
            "start": "2027-03-01T18:00:00Z",
            "end": "2027-03-01T19:00:00Z",
            "rrule": "FREQ=DAILY;COUNT=3",
        },
    ).json()

    response = api.delete(f"/api/v1/events/{created['id']}/?occurrence=2027-03-02T18:00:00Z")

    assert response.status_code == 204
    window = api.get("/api/v1/events/", {"start": "2027-03-01", "end": "2027-03-05"}).json()
    assert [o["start"][:10] for o in window["results"]] == ["2027-03-01", "2027-03-03"]


def test_tasks_complete_with_follow_up_and_my_open_tasks(api, tenant_a, admin):
    deal = make_deal(api)
    task = post(
        api,
        "/api/v1/tasks/",
        {"subject": "Call back", "due_date": "2020-01-01", "related_to": {"module": "deals", "id": deal["id"]}},
    ).json()
    mine = api.get("/api/v1/tasks/mine").json()["results"]
    assert [(t["subject"], t["overdue"]) for t in mine] == [("Call back", True)]

    response = post(
        api,
        f"/api/v1/tasks/{task['id']}/complete",
        {"follow_up": {"subject": "Send contract", "due_date": "2027-02-01"}},
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["task"]["status"] == "completed"
    assert body["follow_up"]["related_to"] == {"module": "deals", "id": deal["id"]}
    assert [t["subject"] for t in api.get("/api/v1/tasks/mine").json()["results"]] == ["Send contract"]
    with tenant_context(tenant_a):
        assert Task.objects.get(pk=task["id"]).completed_at is not None


def test_other_tenant_cannot_see_or_change_events(api, client_for, tenant_b, admin_of):
    created = post(
        api, "/api/v1/events/", {"subject": "Secret", "start": "2027-03-01T09:00:00Z", "end": "2027-03-01T10:00:00Z"}
    ).json()
    other = client_for(tenant_b, admin_of(tenant_b))

    assert other.get(f"/api/v1/events/{created['id']}/").status_code == 404
    assert (
        other.patch(f"/api/v1/events/{created['id']}/", {"subject": "x"}, content_type="application/json").status_code
        == 404
    )
    assert other.delete(f"/api/v1/events/{created['id']}/").status_code == 404
    assert other.get(f"/api/v1/events/{created['id']}/ics").status_code == 404
    assert other.get("/api/v1/events/", {"start": "2027-03-01", "end": "2027-03-02"}).json()["results"] == []


def test_invitee_of_another_tenant_is_refused(api, tenant_a, member, tenant_b):
    stranger = member(tenant_b)

    response = post(
        api,
        "/api/v1/events/",
        {
            "subject": "x",
            "start": "2027-03-01T09:00:00Z",
            "end": "2027-03-01T10:00:00Z",
            "invitees": [stranger.pk + 100000],
        },
    )

    assert response.status_code == 400
    assert "invitees" in response.json()
    with tenant_context(tenant_a):
        assert EventInvitee.objects.count() == 0


def test_private_events_of_others_are_404_and_out_of_the_window(api, client_for, tenant_a, admin, member):
    rep = member(tenant_a)
    with tenant_context(tenant_a):
        from crm_apps.access.services import sharing_default_set

        sharing_default_set(actor=admin, module="events", access="private")
        sharing_default_set(actor=admin, module="deals", access="private")
    created = post(
        api, "/api/v1/events/", {"subject": "Board", "start": "2027-03-01T09:00:00Z", "end": "2027-03-01T10:00:00Z"}
    ).json()
    deal = make_deal(api)
    rep_api = client_for(tenant_a, rep)

    linked = post(
        rep_api,
        "/api/v1/events/",
        {
            "subject": "Sneaky",
            "start": "2027-03-01T09:00:00Z",
            "end": "2027-03-01T10:00:00Z",
            "related_to": {"module": "deals", "id": deal["id"]},
        },
    )

    assert rep_api.get(f"/api/v1/events/{created['id']}/").status_code == 404
    assert (
        rep_api.patch(f"/api/v1/events/{created['id']}/", {"subject": "x"}, content_type="application/json").status_code
        == 404
    )
    assert rep_api.get("/api/v1/events/", {"start": "2027-03-01", "end": "2027-03-02"}).json()["results"] == []
    assert linked.status_code == 400
    assert linked.json()["related_to"] == ["No such record."]
    with tenant_context(tenant_a):
        assert Event.objects.filter(subject="Sneaky").count() == 0
        assert Event.objects.get(pk=created["id"]).subject == "Board"


def test_window_needs_valid_bounds(api):
    assert api.get("/api/v1/events/", {"start": "junk", "end": "2027-03-02"}).status_code == 400
    assert api.get("/api/v1/events/", {"start": "2027-03-02", "end": "2027-03-01"}).json() == {
        "end": ["The end must be after the start."]
    }
    assert api.get("/api/v1/events/", {"start": "2027-01-01", "end": "2029-01-01"}).status_code == 400


def test_openapi_documents_the_activity_keys_and_the_answer(tenant_a, admin_of, client_for):
    schema = client_for(tenant_a, admin_of(tenant_a)).get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]
    event = next(v for k, v in components.items() if k.endswith("Record") and "invitees" in v.get("properties", {}))
    task = next(v for k, v in components.items() if k.endswith("Record") and "overdue" in v.get("properties", {}))

    assert {"related_to", "contacts", "invitees", "reminders", "rrule", "scope"} <= set(event["properties"])
    assert {"related_to", "contacts", "reminders", "due_date"} <= set(task["properties"])
    assert task["properties"]["reminders"]["items"]["type"] == "integer"
    respond = schema["paths"]["/api/v1/events/{record_id}/respond"]["post"]
    request_ref = respond["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(components[request_ref]["properties"]) == {"response", "comment"}
