"""Phone numbers: E.164 with the tenant's region, the index kept by record events, ambiguous matches."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create, record_delete, record_update
from crm_apps.modules.calls.models import PhoneIndex
from crm_apps.modules.calls.phones import normalise
from crm_apps.modules.calls.services import phone_matches
from crm_apps.modules.calls.settings_store import telephony_settings_update

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 (415) 555-0132", "US", "+14155550132"),
        ("415.555.0132", "US", "+14155550132"),
        ("00 49 30 1234567", "US", "+49301234567"),
        ("030 1234567", "DE", "+49301234567"),
        ("030 1234567", "GB", "+44301234567"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("8 (495) 123-45-67", "RU", "+74951234567"),
        ("12", "US", ""),
        ("not a number", "US", ""),
        ("", "US", ""),
    ],
)
def test_numbers_are_normalised_to_e164_in_the_region(raw, region, expected):
    assert normalise(raw, region=region) == expected


def contact(actor, **phones):
    return record_create(spec=registry.get("contacts"), actor=actor, data={"last_name": "P", **phones})


def test_the_index_follows_creates_updates_and_the_recycle_bin(tenant_a, admin_of):
    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        person = contact(actor, phone="(415) 555-0132", mobile="+1 415 555 0199")
        indexed = set(PhoneIndex.objects.filter(record_id=person.pk).values_list("field", "number"))
        record_update(spec=registry.get("contacts"), actor=actor, record=person, data={"mobile": ""})
        after_update = set(PhoneIndex.objects.filter(record_id=person.pk).values_list("number", flat=True))
        record_delete(spec=registry.get("contacts"), actor=actor, record=person)
        after_delete = phone_matches(number="+14155550132")

    assert indexed == {("phone", "+14155550132"), ("mobile", "+14155550199")}
    assert after_update == {"+14155550132"}
    assert after_delete == []


def test_an_ambiguous_number_lists_every_match_contacts_first(tenant_a, admin_of):
    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        org = record_create(
            spec=registry.get("organizations"), actor=actor, data={"name": "Acme", "phone": "415 555 0132"}
        )
        lead = record_create(
            spec=registry.get("leads"), actor=actor, data={"last_name": "L", "company": "C", "phone": "+14155550132"}
        )
        person = contact(actor, home_phone="+1-415-555-0132")
        matches = phone_matches(number="+14155550132")

    assert matches == [("contacts", person.pk), ("leads", lead.pk), ("organizations", org.pk)]


def test_a_new_default_region_re_normalises_the_index(tenant_a, admin_of):
    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        person = contact(actor, phone="030 1234567")
        before = list(PhoneIndex.objects.filter(record_id=person.pk).values_list("number", flat=True))
        telephony_settings_update(actor=actor, default_region="DE", click_to_call_template="tel:{number}")
        after = list(PhoneIndex.objects.filter(record_id=person.pk).values_list("number", flat=True))

    assert before == ["+10301234567"]  # read as a US number while the region was US
    assert after == ["+49301234567"]


def test_settings_refuse_a_bad_region_or_template_and_change_nothing(tenant_a, admin_of, member):
    from django.core.exceptions import PermissionDenied, ValidationError

    from crm_apps.modules.calls.models import TelephonySettings

    with tenant_context(tenant_a):
        with pytest.raises(ValidationError) as bad:
            telephony_settings_update(
                actor=admin_of(tenant_a), default_region="XX", click_to_call_template="javascript:{number}"
            )
        with pytest.raises(PermissionDenied):
            telephony_settings_update(
                actor=member(tenant_a), default_region="DE", click_to_call_template="tel:{number}"
            )
        assert TelephonySettings.objects.count() == 0

    assert set(bad.value.message_dict) == {"default_region", "click_to_call_template"}
