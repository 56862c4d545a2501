"""The event and task forms: invitees, several reminders, related record, recurrence builder, the
"this / following / all" choice; rights and nothing written on bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation
from django_tenants.utils import tenant_context

from crm_apps.access.models import Member
from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.calendar.forms import builder_from_rrule, reminders_from_post, rrule_build, rrule_summary
from crm_apps.modules.calendar.models import Event, EventInvitee, EventLink, Task
from crm_apps.modules.calendar.services import event_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(tenant_a, admin_of):
    member = admin_of(tenant_a)
    with tenant_context(tenant_a):
        Member.objects.filter(pk=member.pk).update(timezone="UTC")
        member.refresh_from_db()
    return member


def make_deal(tenant, actor, name="Hammocks"):
    with tenant_context(tenant):
        return record_create(spec=registry.get("deals"), actor=actor, data={"name": name, "close_date": "2027-01-31"})


BASE = {
    "subject": "Demo",
    "activity_type": "meeting",
    "status": "planned",
    "start": "2027-03-02 10:00",
    "end": "2027-03-02 11:00",
    "time_zone": "UTC",
    "owner": "",
}


# --- the builder ------------------------------------------------------------------------------------

START = dt.date(2027, 3, 9)  # the second Tuesday of March 2027


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"repeat_freq": ""}, ""),
        (
            {"repeat_freq": "DAILY", "repeat_interval": "2", "repeat_ends": "count", "repeat_count": "5"},
            "FREQ=DAILY;INTERVAL=2;COUNT=5",
        ),
        ({"repeat_freq": "WEEKLY", "repeat_byday": ["WE", "MO"]}, "FREQ=WEEKLY;BYDAY=MO,WE"),
        ({"repeat_freq": "MONTHLY", "repeat_monthly": "day"}, "FREQ=MONTHLY;BYMONTHDAY=9"),
        ({"repeat_freq": "MONTHLY", "repeat_monthly": "weekday"}, "FREQ=MONTHLY;BYDAY=2TU"),
        ({"repeat_freq": "MONTHLY", "repeat_monthly": "last_weekday"}, "FREQ=MONTHLY;BYDAY=-1TU"),
        ({"repeat_freq": "YEARLY", "repeat_ends": "until", "repeat_until": "2030-03-09"}, "FREQ=YEARLY;UNTIL=20300309"),
        (
            {"repeat_freq": "CUSTOM", "repeat_custom": "freq=weekly;byday=fr;bysetpos=1"},
            "FREQ=WEEKLY;BYDAY=FR;BYSETPOS=1",
        ),
    ],
)
def test_builder_makes_rules_and_reads_them_back(fields, rule):
    assert rrule_build(fields, start=START) == rule
    back = builder_from_rrule(rule, start=START)
    if rule and "BYSETPOS" not in rule:
        assert rrule_build({**back, "repeat_byday": back["repeat_byday"]}, start=START) == rule
    if "BYSETPOS" in rule:
        assert back["repeat_freq"] == "CUSTOM"


@pytest.mark.parametrize(
    "fields",
    [
        {"repeat_freq": "HOURLY"},
        {"repeat_freq": "DAILY", "repeat_interval": "0"},
        {"repeat_freq": "DAILY", "repeat_ends": "count", "repeat_count": "x"},
        {"repeat_freq": "DAILY", "repeat_ends": "until", "repeat_until": "2027-01-01"},
        {"repeat_freq": "CUSTOM", "repeat_custom": "FREQ=SECONDLY"},
    ],
)
def test_builder_refuses_bad_combinations(fields):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        rrule_build(fields, start=START)


def test_summary_in_words():
    with translation.override("en"):
        assert (
            rrule_summary("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10")
            == "Every 2 weeks on Monday, Wednesday, 10 times"
        )
        assert rrule_summary("FREQ=MONTHLY;BYDAY=-1FR") == "Every month on the last Friday"
        assert rrule_summary("FREQ=DAILY;UNTIL=20270131").startswith("Every day, until ")
        assert rrule_summary("") == ""


def test_reminder_rows_in_minutes_hours_days():
    from django.http import QueryDict

    data = QueryDict(mutable=True)
    data.setlist("reminder_amount", ["15", "2", "", "1"])
    data.setlist("reminder_unit", ["minutes", "hours", "minutes", "days"])
    assert reminders_from_post(data) == ([15, 120, 1440], [])
    data.setlist("reminder_amount", ["30"])
    data.setlist("reminder_unit", ["weeks"])
    assert reminders_from_post(data)[1]


# --- the event form ----------------------------------------------------------------------------------


def test_new_event_form_prefills_the_related_record(client_for, tenant_a, admin):
    deal = make_deal(tenant_a, admin)
    page = client_for(tenant_a, admin).get(f"/m/events/new/?related=deals:{deal.pk}&start=2027-03-02T10:00:00Z")

    assert page.status_code == 200
    html = page.content.decode()
    assert f'<option value="{deal.pk}" selected>Hammocks</option>' in html
    assert 'name="invitees"' in html and 'data-ui="multiselect"' in html
    assert 'name="reminder_amount"' in html
    assert 'name="repeat_freq"' in html


def test_create_an_event_with_invitees_reminders_related_and_recurrence(
    client_for, tenant_a, admin, member, django_capture_on_commit_callbacks
):
    ann, bob = member(tenant_a), member(tenant_a)
    deal = make_deal(tenant_a, admin)
    client = client_for(tenant_a, admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/m/events/new/",
            {
                **BASE,
                "invitees": [ann.pk, bob.pk],
                "reminder_amount": ["15", "1"],
                "reminder_unit": ["minutes", "days"],
                "related_module": "deals",
                "related_id": str(deal.pk),
                "repeat_freq": "WEEKLY",
                "repeat_interval": "1",
                "repeat_byday": ["TU", "TH"],
                "repeat_ends": "count",
                "repeat_count": "6",
            },
        )

    assert response.status_code == 302, response.content.decode()[:3000]
    with tenant_context(tenant_a):
        event = Event.objects.get(subject="Demo")
        assert response["Location"] == f"/m/events/{event.pk}/"
        assert event.rrule == "FREQ=WEEKLY;COUNT=6;BYDAY=TU,TH"
        assert sorted(event.invitees.values_list("member_id", flat=True)) == sorted([ann.pk, bob.pk])
        assert list(event.reminders.values_list("minutes_before", flat=True)) == [15, 1440]
        assert list(EventLink.objects.filter(event=event).values_list("module", "record_id")) == [("deals", deal.pk)]


def test_bad_reminder_or_rule_shows_errors_and_writes_nothing(client_for, tenant_a, admin):
    client = client_for(tenant_a, admin)
    bad_rule = client.post(
        "/m/events/new/",
        {**BASE, "repeat_freq": "DAILY", "repeat_ends": "count", "repeat_count": "0", "reminder_amount": ["15"]},
    )
    bad_reminder = client.post("/m/events/new/", {**BASE, "reminder_amount": ["3"], "reminder_unit": ["fortnights"]})
    bad_invitee = client.post("/m/events/new/", {**BASE, "invitees": ["999999"]})

    assert bad_rule.status_code == bad_reminder.status_code == bad_invitee.status_code == 200
    assert "Repeat 1 to 1000 times." in bad_rule.content.decode()
    assert "A reminder is a whole number" in bad_reminder.content.decode()
    assert bad_invitee.context["extra_errors"]["invitees"] or bad_invitee.context["form"].errors
    with tenant_context(tenant_a):
        assert not Event.objects.filter(subject="Demo").exists()


def test_edit_one_occurrence_this_only(client_for, tenant_a, admin):
    with tenant_context(tenant_a):
        series = event_create(
            actor=admin,
            data={
                "subject": "Stand-up",
                "start": "2027-03-01T09:00:00Z",
                "end": "2027-03-01T09:15:00Z",
                "rrule": "FREQ=DAILY;COUNT=5",
            },
            reminders=[10],
        )
    client = client_for(tenant_a, admin)
    occurrence = "2027-03-03T09:00:00+00:00"
    page = client.get(f"/m/events/{series.pk}/edit/?occurrence={occurrence}")
    assert page.status_code == 200
    assert 'name="scope" value="this" checked' in page.content.decode()
    assert 'value="2027-03-03 09:00:00"' in page.content.decode()

    response = client.post(
        f"/m/events/{series.pk}/edit/",
        {
            **BASE,
            "subject": "Stand-up (moved)",
            "start": "2027-03-03 11:00",
            "end": "2027-03-03 11:15",
            "occurrence": occurrence,
            "scope": "this",
            "version": str(series.version),
            "reminder_amount": ["10"],
            "reminder_unit": ["minutes"],
            "repeat_freq": "DAILY",
            "repeat_ends": "count",
            "repeat_count": "5",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    with tenant_context(tenant_a):
        series.refresh_from_db()
        moved = Event.objects.get(subject="Stand-up (moved)")
        assert moved.rrule == "" and moved.recurrence_parent_id == series.pk
        assert moved.start == dt.datetime(2027, 3, 3, 11, tzinfo=dt.UTC)
        assert series.exdates == [dt.datetime(2027, 3, 3, 9, tzinfo=dt.UTC)]
        assert series.rrule == "FREQ=DAILY;COUNT=5"


def test_edit_all_from_an_occurrence_moves_the_whole_series(client_for, tenant_a, admin):
    with tenant_context(tenant_a):
        series = event_create(
            actor=admin,
            data={
                "subject": "Sync",
                "start": "2027-03-01T09:00:00Z",
                "end": "2027-03-01T09:30:00Z",
                "rrule": "FREQ=DAILY",
            },
        )
    response = client_for(tenant_a, admin).post(
        f"/m/events/{series.pk}/edit/",
        {
            **BASE,
            "subject": "Sync",
            "start": "2027-03-04 10:00",
            "end": "2027-03-04 10:30",
            "occurrence": "2027-03-04T09:00:00+00:00",
            "scope": "all",
            "version": str(series.version),
            "repeat_freq": "DAILY",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    with tenant_context(tenant_a):
        series.refresh_from_db()
        assert series.start == dt.datetime(2027, 3, 1, 10, tzinfo=dt.UTC)
        assert series.end == dt.datetime(2027, 3, 1, 10, 30, tzinfo=dt.UTC)


def test_a_member_cannot_edit_or_invite_into_an_event_they_may_not_edit(client_for, tenant_a, admin, member):
    rep = member(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="events", access="public_read")
        event = event_create(
            actor=admin, data={"subject": "Board", "start": "2027-03-01T09:00:00Z", "end": "2027-03-01T10:00:00Z"}
        )
    client = client_for(tenant_a, rep)

    assert client.get(f"/m/events/{event.pk}/edit/").status_code == 403
    posted = client.post(f"/m/events/{event.pk}/edit/", {**BASE, "invitees": [rep.pk], "version": "1"})
    assert posted.status_code == 403
    with tenant_context(tenant_a):
        assert not EventInvitee.objects.filter(event=event).exists()


def test_another_tenants_event_or_record_is_not_reachable(client_for, tenant_a, tenant_b, admin, admin_of):
    other_admin = admin_of(tenant_b)
    foreign_deal = make_deal(tenant_b, other_admin, name="Foreign")
    with tenant_context(tenant_b):
        foreign = event_create(
            actor=other_admin,
            data={"subject": "Theirs", "start": "2027-03-01T09:00:00Z", "end": "2027-03-01T10:00:00Z"},
        )
    client = client_for(tenant_a, admin)

    assert client.get(f"/m/events/{foreign.pk}/edit/").status_code == 404
    linked = client.post("/m/events/new/", {**BASE, "related_module": "deals", "related_id": str(foreign_deal.pk)})
    assert linked.status_code == 200
    assert "No such record." in linked.content.decode()
    with tenant_context(tenant_a):
        assert not Event.objects.filter(subject="Demo").exists()


# --- the task form ----------------------------------------------------------------------------------


def test_task_form_sets_reminders_and_related_record(client_for, tenant_a, admin):
    deal = make_deal(tenant_a, admin)
    client = client_for(tenant_a, admin)
    page = client.get(f"/m/tasks/new/?related=deals:{deal.pk}")
    assert page.status_code == 200
    assert f'<option value="{deal.pk}" selected>Hammocks</option>' in page.content.decode()

    response = client.post(
        "/m/tasks/new/",
        {
            "subject": "Send the offer",
            "due_date": "2027-03-05",
            "due_time": "14:00",
            "status": "not_started",
            "priority": "high",
            "owner": "",
            "reminder_amount": ["30", "1"],
            "reminder_unit": ["minutes", "days"],
            "related_module": "deals",
            "related_id": str(deal.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    with tenant_context(tenant_a):
        task = Task.objects.get(subject="Send the offer")
        assert list(task.reminders.values_list("minutes_before", flat=True)) == [30, 1440]
        assert list(task.links.values_list("module", "record_id")) == [("deals", deal.pk)]

    edit = client.get(f"/m/tasks/{task.pk}/edit/")
    assert edit.status_code == 200
    assert 'value="30"' in edit.content.decode() and 'value="days" selected' in edit.content.decode()


# --- completing a task from a screen ---------------------------------------------------------------


def test_complete_a_task_with_a_follow_up_from_its_page(client_for, tenant_a, admin, member):
    from crm_apps.modules.calendar.services import task_create

    deal = make_deal(tenant_a, admin)
    with tenant_context(tenant_a):
        task = task_create(
            actor=admin,
            data={"subject": "Call back", "due_date": "2027-03-01"},
            related_to={"module": "deals", "id": str(deal.pk)},
            reminders=[30],
        )
    client = client_for(tenant_a, admin)
    page = client.get(f"/m/tasks/{task.pk}/").content.decode()
    assert f"/calendar/tasks/{task.pk}/complete/" in page

    done = client.post(
        f"/calendar/tasks/{task.pk}/complete/",
        {"follow_up_subject": "Send contract", "follow_up_due_date": "2027-03-08", "follow_up_due_time": "09:30"},
    )
    assert done.status_code == 302
    with tenant_context(tenant_a):
        task.refresh_from_db()
        assert task.status == "completed" and task.completed_at is not None
        nxt = Task.objects.get(subject="Send contract")
        assert (nxt.due_date.isoformat(), nxt.due_time.isoformat(), nxt.owner_id) == (
            "2027-03-08",
            "09:30:00",
            admin.pk,
        )
        assert list(nxt.links.values_list("module", "record_id")) == [("deals", deal.pk)]
        assert list(nxt.reminders.values_list("minutes_before", flat=True)) == [30]

    # A bad follow-up is a message and writes nothing; someone who may not edit the task is refused.
    with tenant_context(tenant_a):
        other = task_create(actor=admin, data={"subject": "Other", "due_date": "2027-03-01"})
    bad = client.post(f"/calendar/tasks/{other.pk}/complete/", {"follow_up_subject": "X", "follow_up_due_date": "soon"})
    assert bad.status_code == 302
    with tenant_context(tenant_a):
        other.refresh_from_db()
        assert other.status == "not_started" and not Task.objects.filter(subject="X").exists()
        sharing_default_set(actor=admin, module="tasks", access="public_read")
    rep = member(tenant_a)
    assert client_for(tenant_a, rep).post(f"/calendar/tasks/{other.pk}/complete/").status_code == 403


def test_my_tasks_offers_done_buttons(client_for, tenant_a, admin):
    from crm_apps.modules.calendar.services import task_create

    with tenant_context(tenant_a):
        task = task_create(actor=admin, data={"subject": "Overdue call", "due_date": "2020-01-01"})
    page = client_for(tenant_a, admin).get("/calendar/tasks/").content.decode()
    assert f"/calendar/tasks/{task.pk}/complete/" in page and "task--overdue" in page


# --- scheduling for others -------------------------------------------------------------------------


def test_events_go_into_others_calendars_only_for_who_may_edit_them(client_for, tenant_a, admin, member):
    rep, colleague = member(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="events", access="private")
    body = {"subject": "For you", "start": "2027-03-01T09:00:00Z", "end": "2027-03-01T10:00:00Z"}
    as_rep = client_for(tenant_a, rep)

    refused = as_rep.post("/api/v1/events/", {**body, "owner": colleague.pk}, content_type="application/json")
    own = as_rep.post("/api/v1/events/", {**body, "owner": rep.pk}, content_type="application/json")
    by_admin = client_for(tenant_a, admin).post(
        "/api/v1/events/", {**body, "owner": colleague.pk}, content_type="application/json"
    )

    assert refused.status_code == 400 and "owner" in refused.json()
    assert own.status_code == 201 and by_admin.status_code == 201
    team = as_rep.get("/calendar/team/")
    members = {m["id"]: m["can_schedule"] for m in team.context["members"]}
    assert members[rep.pk] is True and members[colleague.pk] is False
    window = as_rep.get("/api/v1/events/?start=2027-03-01&end=2027-03-02&members=" + str(rep.pk)).json()["results"]
    assert [r["editable"] for r in window] == [True]


def test_nobody_moves_an_event_they_may_not_edit(client_for, tenant_a, admin, member):
    rep = member(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="events", access="public_read")
        event = event_create(
            actor=admin, data={"subject": "Board", "start": "2027-03-01T09:00:00Z", "end": "2027-03-01T10:00:00Z"}
        )
    as_rep = client_for(tenant_a, rep)
    window = as_rep.get("/api/v1/events/?start=2027-03-01&end=2027-03-02").json()["results"]
    assert [r["editable"] for r in window] == [False]

    moved = as_rep.patch(
        f"/api/v1/events/{event.pk}/",
        {"start": "2027-03-01T12:00:00Z", "end": "2027-03-01T13:00:00Z"},
        content_type="application/json",
    )
    assert moved.status_code == 403
    with tenant_context(tenant_a):
        event.refresh_from_db()
        assert event.start == dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)


def test_recurrence_summary_endpoint(client_for, tenant_a, admin):
    client = client_for(tenant_a, admin)
    good = client.get(
        "/calendar/recurrence/",
        {"repeat_freq": "MONTHLY", "repeat_monthly": "weekday", "start": "2027-03-09 10:00", "time_zone": "UTC"},
    )
    bad = client.get("/calendar/recurrence/", {"repeat_freq": "DAILY", "repeat_interval": "0"})

    assert good.status_code == 200
    assert good.json() == {"rrule": "FREQ=MONTHLY;BYDAY=2TU", "summary": "Every month on the second Tuesday"}
    assert bad.status_code == 400 and bad.json()["error"]
    assert client_for(tenant_a).get("/calendar/recurrence/").status_code == 302
