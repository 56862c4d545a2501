"""Record panels, logging a call, the incoming-call popup, click-to-call links, the settings page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.calls.models import Call, CallMatch
from crm_apps.modules.calls.services import CallEvent, telephony_event_apply
from crm_apps.modules.calls.settings_store import telephony_member_set, telephony_settings_update

pytestmark = pytest.mark.django_db


def ring(extension: str, number: str = "+14155550132", call_id: str = "c1", when: dt.datetime | None = None):
    return telephony_event_apply(
        event=CallEvent(
            call_id=call_id,
            status="ringing",
            timestamp=when or timezone.now(),
            from_number=number,
            to_number="+14155550100",
            extension=extension,
        )
    )[0]


def test_the_popup_shows_the_ringing_call_to_the_member_of_the_extension_only(tenant_a, admin_of, member, client_for):
    admin = admin_of(tenant_a)
    rep, other = member(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        telephony_member_set(actor=admin, member=rep, extension="201")
        telephony_member_set(actor=admin, member=other, extension="202")
        person = record_create(
            spec=registry.get("contacts"),
            actor=rep,
            data={"first_name": "Ada", "last_name": "Caller", "phone": "415 555 0132"},
        )
        call = ring("201")
        ring("201", call_id="old", when=timezone.now() - dt.timedelta(minutes=5))

    mine = client_for(tenant_a, rep).get("/api/v1/telephony/ringing").json()["results"]
    theirs = client_for(tenant_a, other).get("/api/v1/telephony/ringing").json()["results"]

    assert [c["id"] for c in mine] == [str(call.pk)]
    assert [(m["module"], m["title"]) for m in mine[0]["matches"]] == [("contacts", str(person))]
    assert mine[0]["matches"][0]["url"] == f"/m/contacts/{person.pk}/"
    assert theirs == []


def test_the_popup_hides_matched_records_the_member_may_not_see(tenant_a, admin_of, member, client_for):
    admin = admin_of(tenant_a)
    rep = member(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="contacts", access="private")
        telephony_member_set(actor=admin, member=rep, extension="201")
        record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Secret", "phone": "415 555 0132"})
        ring("201")

    popup = client_for(tenant_a, rep).get("/api/v1/telephony/ringing").json()["results"]

    assert len(popup) == 1
    assert popup[0]["matches"] == []


def test_phone_values_link_through_the_click_to_call_template(tenant_a, admin_of, client_for):
    from crm_apps.engine.services import custom_field_create

    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        custom_field_create(actor=admin, spec=registry.get("contacts"), key="fax2", label="Fax 2", type="phone")
        person = record_create(
            spec=registry.get("contacts"),
            actor=admin,
            data={"last_name": "Dial", "phone": "+1 415 555 0132"},
            custom={"fax2": "+1 415 555 0999"},
        )
    web = client_for(tenant_a, admin)

    default = web.get(f"/m/contacts/{person.pk}/").content.decode()
    with tenant_context(tenant_a):
        telephony_settings_update(
            actor=admin, default_region="US", click_to_call_template="https://pbx.example/dial?to={number}"
        )
    custom = web.get(f"/m/contacts/{person.pk}/").content.decode()
    listing = web.get("/m/contacts/").content.decode()

    assert 'href="tel:+14155550132"' in default
    assert 'href="tel:+14155550999"' in default
    assert 'href="https://pbx.example/dial?to=+14155550132"' in custom
    assert 'href="https://pbx.example/dial?to=+14155550132"' in listing


def test_log_a_call_from_a_contact(tenant_a, tenant_b, admin_of, client_for):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        person = record_create(
            spec=registry.get("contacts"), actor=admin, data={"last_name": "Logged", "phone": "415 555 0132"}
        )
    with tenant_context(tenant_b):
        foreign = record_create(spec=registry.get("contacts"), actor=admin_of(tenant_b), data={"last_name": "Other"})
    web = client_for(tenant_a, admin)
    form = {
        "direction": "Outbound",
        "status": "Answered",
        "to_number": "415 555 0132",
        "duration": "42",
        "notes": "Quote",
    }

    page = web.get(f"/m/contacts/{person.pk}/").content.decode()
    logged = web.post(f"/m/calls/log/contacts/{person.pk}/", form)
    cross = web.post(f"/m/calls/log/contacts/{foreign.pk}/", form)
    bad = web.post(f"/m/calls/log/contacts/{person.pk}/", {**form, "duration": "-5"}, follow=True)
    after = web.get(f"/m/contacts/{person.pk}/").content.decode()

    assert "Log a call" in page
    assert (logged.status_code, cross.status_code) == (302, 404)
    with tenant_context(tenant_a):
        call = Call.objects.get()
        assert (call.direction, call.status, call.duration, call.member_id) == ("Outbound", "Answered", 42, admin.pk)
        assert call.customer_number == "+14155550132"
        assert list(CallMatch.objects.values_list("module", "record_id")) == [("contacts", person.pk)]
    with tenant_context(tenant_b):
        assert not Call.objects.exists()
    assert "duration" in bad.content.decode()
    assert f"/m/calls/{call.pk}/" in after


def test_the_call_page_lists_ambiguous_matches(tenant_a, admin_of, client_for):
    admin = admin_of(tenant_a)
    with tenant_context(tenant_a):
        a = record_create(
            spec=registry.get("contacts"), actor=admin, data={"last_name": "First", "phone": "415 555 0132"}
        )
        b = record_create(
            spec=registry.get("leads"),
            actor=admin,
            data={"last_name": "Second", "company": "X", "mobile": "4155550132"},
        )
        call = ring("")

    page = client_for(tenant_a, admin).get(f"/m/calls/{call.pk}/").content.decode()

    assert "Several records have this number" in page
    assert f"/m/contacts/{a.pk}/" in page and f"/m/leads/{b.pk}/" in page


def test_settings_page_saves_extensions_and_rotates_the_secret(tenant_a, admin_of, member, client_for):
    from crm_apps.modules.calls.models import TelephonyMember, TelephonySettings

    admin = admin_of(tenant_a)
    rep = member(tenant_a)
    web = client_for(tenant_a, admin)
    url = "/settings/modules/calls/telephony/"
    form = {"default_region": "de", "click_to_call_template": "tel:{number}", f"extension-{rep.pk}": "301"}

    denied = client_for(tenant_a, rep).post(url, form)
    saved = web.post(url, form)
    taken = web.post(url, {**form, f"extension-{admin.pk}": "301"})
    rotated = web.post(url, {"action": "rotate"})

    assert (denied.status_code, saved.status_code, taken.status_code, rotated.status_code) == (403, 302, 200, 200)
    assert "Another member already has this extension." in taken.content.decode()
    with tenant_context(tenant_a):
        assert dict(TelephonyMember.objects.values_list("member_id", "extension")) == {rep.pk: "301"}
        settings_row = TelephonySettings.objects.get()
        assert settings_row.default_region == "DE"
        assert settings_row.webhook_secret in rotated.content.decode()


def test_only_administrators_rotate_the_secret_through_the_api(tenant_a, tenant_b, admin_of, member, client_for):
    admin_api = client_for(tenant_a, admin_of(tenant_a))

    first = admin_api.post("/api/v1/telephony/secret")
    second = admin_api.post("/api/v1/telephony/secret")
    denied = client_for(tenant_a, member(tenant_a)).post("/api/v1/telephony/secret")
    anonymous = client_for(tenant_a).post("/api/v1/telephony/secret")
    foreign = client_for(tenant_a, admin_of(tenant_b)).post("/api/v1/telephony/secret")

    assert (first.status_code, second.status_code) == (201, 201)
    assert len(first.json()["secret"]) == 64
    assert first.json()["secret"] != second.json()["secret"]
    assert (denied.status_code, anonymous.status_code, foreign.status_code) == (403, 401, 401)


def test_missed_calls_reach_the_listeners_once_and_the_home_widget(
    tenant_a, admin_of, member, rf, django_capture_on_commit_callbacks
):
    from crm_apps.modules.calls.home import widget_context
    from crm_apps.modules.calls.notify import missed_call_listener_add, missed_call_listener_remove

    admin = admin_of(tenant_a)
    rep, other = member(tenant_a), member(tenant_a)
    heard: list[tuple[int, object]] = []
    listener = lambda member_id, call_id: heard.append((member_id, call_id))  # noqa: E731
    missed_call_listener_add(listener)
    try:
        with tenant_context(tenant_a):
            telephony_member_set(actor=admin, member=rep, extension="201")
            with django_capture_on_commit_callbacks(execute=True):
                call = ring("201")
                for _ in range(2):  # the provider repeats its final event
                    telephony_event_apply(
                        event=CallEvent(call_id="c1", status="missed", timestamp=timezone.now(), extension="201")
                    )
            request = rf.get("/")
            request.member = rep
            mine = widget_context(request)
            request.member = other
            theirs = widget_context(request)
    finally:
        missed_call_listener_remove(listener)

    assert heard == [(rep.pk, call.pk)]
    assert [c.pk for c, _url, _matches in mine["calls"]] == [call.pk]
    assert theirs["calls"] == []
    with tenant_context(tenant_a):
        from crm_apps.notifications.models import Notification

        told = Notification.objects.filter(kind="missed_call")
        assert [(n.recipient_id, n.url) for n in told] == [(rep.pk, f"/m/calls/{call.pk}/")]


def test_the_home_page_shows_my_missed_calls(
    client_for, tenant_a, admin_of, member, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    rep = member(tenant_a)
    with tenant_context(tenant_a):
        telephony_member_set(actor=admin, member=rep, extension="202")
        with django_capture_on_commit_callbacks(execute=True):
            call = ring("202", call_id="c9")
            telephony_event_apply(
                event=CallEvent(call_id="c9", status="missed", timestamp=timezone.now(), extension="202")
            )

    page = client_for(tenant_a, rep).get("/").content.decode()

    assert 'data-widget="calls-missed_calls"' in page
    assert f"/m/calls/{call.pk}/" in page


def test_the_popups_polling_does_not_spend_the_daily_api_quota(tenant_a, member):
    from django.test import Client

    from billing import entitlements
    from billing.models import Plan
    from conftest import host_of
    from crm_apps.access.services import api_token_create

    Plan.objects.update(max_api_requests_per_day=2)  # whichever plan the shared tenant is on (rolled back)
    entitlements.plans_forget()
    with tenant_context(tenant_a):
        key = api_token_create(member=member(tenant_a), name="popup")[1]
    web = Client(HTTP_HOST=host_of(tenant_a), HTTP_AUTHORIZATION=f"Token {key}")

    polls = [web.get("/api/v1/telephony/ringing").status_code for _ in range(4)]
    api_use = [web.get("/api/v1/me").status_code for _ in range(3)]

    assert polls == [200, 200, 200, 200]
    assert api_use == [200, 200, 429]  # the quota is untouched by the polls, and still enforced
