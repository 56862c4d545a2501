"""Per-member date, time and number formats (access/formats.py): shown, typed, never leaked, not in the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django import forms
from django.utils import formats, timezone
from django_tenants.utils import tenant_context

from crm_apps.access.formats import _active, formats_override
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.calls.models import Call

pytestmark = pytest.mark.django_db


def prefer(tenant, member: Member, **choices: str) -> Member:
    with tenant_context(tenant):
        Member.objects.filter(pk=member.pk).update(**choices)
        member.refresh_from_db()
    return member


@pytest.fixture
def two(tenant_a, admin_of, member):
    """Two administrators of tenant A: one with European formats, one with American ones."""
    euro = prefer(tenant_a, admin_of(tenant_a), date_format="dmy_dot", time_format="24h", number_format="space_comma")
    us = prefer(tenant_a, member(tenant_a, is_admin=True), date_format="mdy_slash", time_format="12h", number_format="")
    with tenant_context(tenant_a):
        deal = record_create(
            spec=registry.get("deals"),
            actor=euro,
            data={"name": "Hammocks", "close_date": "2027-01-31", "amount": "1234.56"},
        )
    return euro, us, deal


def test_same_record_page_and_list_render_each_members_formats(two, client_for, tenant_a):
    euro, us, deal = two
    created = timezone.localtime(deal.created_at, dt.UTC)
    euro_page = client_for(tenant_a, euro).get(f"/m/deals/{deal.pk}/").content.decode()
    us_page = client_for(tenant_a, us).get(f"/m/deals/{deal.pk}/").content.decode()
    assert "31.01.2027" in euro_page and "1\xa0234,56" in euro_page
    assert created.strftime("%d.%m.%Y %H:%M") in euro_page  # a datetime: 24-hour clock
    assert "01/31/2027" in us_page and "1,234.56" in us_page and "31.01.2027" not in us_page
    # The browser's live totals (rows.js) take the member's separators from the page.
    assert 'data-number-sample="1\xa0234,5"' in euro_page and 'data-number-sample="1,234.5"' in us_page
    assert created.strftime("%m/%d/%Y ") + created.strftime("%I:%M %p").lstrip("0") in us_page  # 12-hour
    euro_list = client_for(tenant_a, euro).get("/m/deals/").content.decode()
    us_list = client_for(tenant_a, us).get("/m/deals/").content.decode()
    assert "31.01.2027" in euro_list and "1\xa0234,56" in euro_list
    assert "01/31/2027" in us_list and "1,234.56" in us_list


def test_language_default_follows_the_language(tenant_a, admin_of, client_for):
    admin = prefer(tenant_a, admin_of(tenant_a), language="ru", date_format="", time_format="", number_format="")
    with tenant_context(tenant_a):
        deal = record_create(
            spec=registry.get("deals"), actor=admin, data={"name": "D", "close_date": "2027-01-31", "amount": "1234.56"}
        )
    page = client_for(tenant_a, admin).get(f"/m/deals/{deal.pk}/").content.decode()
    assert "31.01.2027" in page and "1\xa0234,56" in page  # Django's Russian formats
    admin = prefer(tenant_a, admin, date_format="iso", number_format="comma_dot")
    page = client_for(tenant_a, admin).get(f"/m/deals/{deal.pk}/").content.decode()
    assert "2027-01-31" in page and "1,234.56" in page


def test_a_date_typed_in_the_members_format_is_parsed_in_a_form(two, client_for, tenant_a):
    euro, us, _deal = two
    for who, typed in ((euro, "31.01.2027 14:30"), (us, "01/31/2027 2:30 PM")):
        response = client_for(tenant_a, who).post(
            "/m/calls/new/",
            {"direction": "Inbound", "status": "Answered", "started_at": typed, "owner": f"m:{who.pk}"},
        )
        assert response.status_code == 302, response.context["form"].errors
        with tenant_context(tenant_a):
            call = Call.objects.filter(owner=who).latest("created_at")
            assert timezone.localtime(call.started_at, dt.UTC).replace(tzinfo=None) == dt.datetime(2027, 1, 31, 14, 30)
    # The other member's format is not theirs: "31.01.2027" is no US date.
    response = client_for(tenant_a, us).post(
        "/m/calls/new/",
        {"direction": "Inbound", "status": "Answered", "started_at": "31.01.2027 14:30", "owner": f"m:{us.pk}"},
    )
    assert response.status_code == 200 and b"Enter a valid date/time" in response.content


def test_edit_form_shows_the_value_in_the_members_format(two, client_for, tenant_a):
    euro, _us, _deal = two
    with tenant_context(tenant_a):
        call = record_create(
            spec=registry.get("calls"),
            actor=euro,
            data={"direction": "Inbound", "status": "Answered", "started_at": "2027-01-31T14:30:00+00:00"},
        )
    page = client_for(tenant_a, euro).get(f"/m/calls/{call.pk}/edit/").content.decode()
    assert 'value="31.01.2027 14:30"' in page


def test_formats_override_parses_and_renders_numbers_and_times(two):
    euro, us, _deal = two
    with formats_override(euro):
        assert forms.DateField().clean("05.12.2026") == dt.date(2026, 12, 5)
        assert forms.DateField().clean("2026-12-05") == dt.date(2026, 12, 5)  # ISO always accepted
        assert forms.TimeField().clean("18:05") == dt.time(18, 5)
        assert forms.DecimalField(localize=True).clean("1234,5") == Decimal("1234.5")
        assert formats.number_format(Decimal("1234567.891"), decimal_pos=2, force_grouping=True) == "1\xa0234\xa0567,89"
    with formats_override(us):
        assert forms.DateField().clean("12/05/2026") == dt.date(2026, 12, 5)
        assert forms.TimeField().clean("6:05 PM") == dt.time(18, 5)
        assert formats.time_format(dt.time(18, 5)) == "6:05 PM"
    assert _active.get() is None


def test_preferences_do_not_leak_to_the_next_request_on_the_same_thread(two, client_for, tenant_a, member):
    euro, _us, deal = two
    plain = member(tenant_a, is_admin=True)  # language defaults (English)
    euro_client, plain_client = client_for(tenant_a, euro), client_for(tenant_a, plain)
    first = euro_client.get(f"/m/deals/{deal.pk}/").content.decode()
    second = plain_client.get(f"/m/deals/{deal.pk}/").content.decode()
    assert "31.01.2027" in first and "31.01.2027" not in second
    assert "01/31/2027" in second and "1,234.56" in second and "1\xa0234,56" not in second
    assert _active.get() is None  # reset when each request ended
    assert formats.get_format("DATE_FORMAT") == "N j, Y"  # the shared cache holds no member's choice
    assert formats.get_format("DECIMAL_SEPARATOR") == "."


def test_api_output_stays_iso_and_plain_decimals(two, client_for, tenant_a):
    euro, us, deal = two
    euro_row = client_for(tenant_a, euro).get(f"/api/v1/deals/{deal.pk}/").json()
    us_row = client_for(tenant_a, us).get(f"/api/v1/deals/{deal.pk}/").json()
    assert euro_row == us_row
    assert euro_row["close_date"] == "2027-01-31" and euro_row["amount"] == "1234.56"
    assert dt.datetime.fromisoformat(euro_row["created_at"])


def test_profile_form_saves_and_refuses_unknown_formats(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    page = client.get("/settings/profile/").content.decode()
    assert 'name="date_format"' in page and "DD.MM.YYYY" in page and "1 234,56" in page
    base = {"name": "Ann", "language": "en", "timezone": "UTC"}
    bad = client.post("/settings/profile/", {**base, "date_format": "dd-mm", "time_format": "25h", "number_format": ""})
    assert bad.status_code == 200
    assert set(bad.context["form"].errors) == {"date_format", "time_format"}
    with tenant_context(tenant_a):
        admin.refresh_from_db()
        assert (admin.date_format, admin.time_format) == ("", "")
        assert admin.user.name != "Ann"  # nothing of the refused form was saved
    ok = client.post(
        "/settings/profile/", {**base, "date_format": "iso", "time_format": "24h", "number_format": "dot_comma"}
    )
    assert ok.status_code == 302
    with tenant_context(tenant_a):
        admin.refresh_from_db()
    assert (admin.date_format, admin.time_format, admin.number_format) == ("iso", "24h", "dot_comma")


def test_api_me_reads_and_patches_formats_with_field_errors(client_for, tenant_a, tenant_b, admin_of):
    admin = admin_of(tenant_a)
    client = client_for(tenant_a, admin)
    me = client.get("/api/v1/me").json()
    assert (me["date_format"], me["time_format"], me["number_format"]) == ("", "", "")
    bad = client.patch("/api/v1/me", {"date_format": "iso", "number_format": "roman"}, content_type="application/json")
    assert bad.status_code == 400 and set(bad.json()) == {"number_format"}
    with tenant_context(tenant_a):
        admin.refresh_from_db()
    assert admin.date_format == ""  # nothing saved
    ok = client.patch("/api/v1/me", {"date_format": "dmy_slash", "time_format": "12h"}, content_type="application/json")
    assert ok.status_code == 200 and (ok.json()["date_format"], ok.json()["time_format"]) == ("dmy_slash", "12h")
    # The change belongs to this membership only: the same user elsewhere is untouched.
    other = admin_of(tenant_b)
    with tenant_context(tenant_b):
        other.refresh_from_db()
    assert other.date_format == ""
    assert client_for(tenant_b).patch(
        "/api/v1/me", {"date_format": "iso"}, content_type="application/json"
    ).status_code in (
        401,
        403,
    )


def test_calendar_uses_the_members_clock(two, client_for, tenant_a):
    euro, us, _deal = two
    assert 'data-time-format="24h"' in client_for(tenant_a, euro).get("/calendar/").content.decode()
    assert 'data-time-format="12h"' in client_for(tenant_a, us).get("/calendar/").content.decode()


def test_formats_are_per_thread(two):
    """Two threads rendering at once (a threaded server) each see only their own member's formats."""
    import threading

    euro, us, _deal = two
    barrier = threading.Barrier(2)
    seen: dict[str, str] = {}

    def render(name: str, who: Member) -> None:
        with formats_override(who):
            barrier.wait()  # both overrides active at the same time
            seen[name] = formats.date_format(dt.date(2027, 1, 31), "SHORT_DATE_FORMAT")
            barrier.wait()

    threads = [threading.Thread(target=render, args=args) for args in (("euro", euro), ("us", us))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"euro": "31.01.2027", "us": "01/31/2027"}


def test_profile_format_labels_in_russian(tenant_a, admin_of, client_for):
    admin = prefer(tenant_a, admin_of(tenant_a), language="ru")
    page = client_for(tenant_a, admin).get("/settings/profile/").content.decode()
    assert "Формат даты" in page and "Формат времени" in page and "Формат чисел" in page
    assert "Как в языке интерфейса" in page and "24-часовой" in page


GROUPED_VALUES = [
    Decimal("0"),
    Decimal("-0"),
    Decimal("-0.004"),
    Decimal("-0.005"),
    Decimal("0.005"),
    Decimal("2.5"),
    Decimal("-2.5"),
    Decimal("999.995"),
    Decimal("1E+3"),
    Decimal("1234567.891"),
    Decimal("-1234567.895"),
    Decimal("9" * 40 + ".995"),
    Decimal("123456789012345678901234567890.5"),
    0,
    7,
    -12345678,
    10**30,
]


@pytest.mark.parametrize("language", ["en", "ru", "de"])
@pytest.mark.parametrize("number", ["", "comma_dot", "space_comma", "dot_comma"])
def test_grouped_is_floatformat_with_grouping_in_every_language_and_member_format(language, number):
    """`grouped` (a board's amounts) prints exactly what `floatformat:"<places>g"` prints."""
    import random
    from types import SimpleNamespace

    from django.template.defaultfilters import floatformat
    from django.utils import translation

    from crm_apps.access.formats import grouped

    rng = random.Random(25)
    values = [*GROUPED_VALUES]
    for _ in range(300):
        values.append(Decimal(rng.randint(-(10**12), 10**12)).scaleb(-rng.randint(0, 6)))
        values.append(rng.randint(-(10**9), 10**9))
    member = SimpleNamespace(date_format="", time_format="", number_format=number)
    with translation.override(language), formats_override(member):
        for value in values:
            for places in (0, 1, 2, 3):
                expected = floatformat(value, f"{places}g")
                assert grouped(value, places) == expected, (value, places)
    # Anything but a Decimal or an integer is floatformat's own business (floats, text, None, infinity).
    with translation.override(language):
        for other in (1.5, "12.345", None, "x", Decimal("Infinity"), True):
            assert grouped(other, 2) == floatformat(other, "2g")


def test_grouped_reads_the_separators_again_after_a_setting_changes(settings):
    """The separators are kept per language and member preferences, and forgotten when a setting changes
    (Django empties its own format cache then too)."""
    from django.utils import translation

    from crm_apps.access import formats as member_formats

    with translation.override("ru"):
        assert member_formats.grouped(Decimal("1234.5"), 2) == "1\xa0234,50"
        assert ("ru", None) in member_formats._separators
        settings.USE_THOUSAND_SEPARATOR = True
        assert member_formats._separators == {}
        assert member_formats.grouped(Decimal("-1234.5"), 0) == "-1\xa0235"
