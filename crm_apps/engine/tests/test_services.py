from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_tenants.utils import tenant_context

from crm_apps.engine import metadata, registry
from crm_apps.engine.models import PicklistValue
from crm_apps.engine.services import (
    custom_field_create,
    custom_field_update,
    numbering_update,
    picklist_value_add,
    picklist_value_update,
    record_create,
    record_update,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ctx(tenant_a, admin_of):
    with tenant_context(tenant_a):
        yield admin_of(tenant_a)


def test_numbers_follow_the_prefix_and_admins_can_change_it(ctx):
    spec = registry.get("vendors")
    first = record_create(spec=spec, actor=ctx, data={"name": "One"})
    numbering_update(actor=ctx, spec=spec, prefix="sup", next_number=500)
    second = record_create(spec=spec, actor=ctx, data={"name": "Two"})

    assert (first.number, second.number) == ("VEN1", "SUP500")
    with pytest.raises(ValidationError) as bad:
        numbering_update(actor=ctx, spec=spec, prefix="SUP", next_number=10)
    assert "next_number" in bad.value.message_dict


def test_renaming_a_picklist_value_keeps_records_and_retired_values_stay_valid(ctx):
    spec = registry.get("leads")
    lead = record_create(spec=spec, actor=ctx, data={"last_name": "X", "company": "Y", "status": "Cold"})
    cold = PicklistValue.objects.get(picklist__name="lead_status", value="Cold")

    picklist_value_update(actor=ctx, value=cold, label="Frosty")
    picklist_value_update(actor=ctx, value=cold, retired=True)
    lead = record_update(spec=spec, actor=ctx, record=lead, data={"company": "Y2"})

    assert lead.status == "Cold"
    assert metadata.picklist_labels("lead_status")["Cold"] == "Frosty"
    assert "Cold" not in {v.value for v in metadata.picklist_values("lead_status")}
    with pytest.raises(ValidationError) as bad:
        record_create(spec=spec, actor=ctx, data={"last_name": "X", "company": "Y", "status": "Cold"})
    assert "status" in bad.value.message_dict


def test_picklist_values_can_be_added_and_reordered(ctx):
    added = picklist_value_add(actor=ctx, name="lead_status", label="Nurturing")
    picklist_value_update(actor=ctx, value=added, position=0)

    assert metadata.picklist_values("lead_status")[0].value == "Nurturing"
    with pytest.raises(ValidationError):
        picklist_value_add(actor=ctx, name="lead_status", label="nurturing")


@pytest.mark.parametrize(
    ("type", "good", "stored", "bad"),
    [
        ("text", " hello ", "hello", "x" * 300),
        ("textarea", "line", "line", "x" * 10_001),
        ("integer", "42", 42, "4.2"),
        ("decimal", "3.1400", "3.14", "abc"),
        ("currency", "10", "10", "1e20"),
        ("percent", "12.5", "12.5", "101"),
        ("date", "2027-02-28", "2027-02-28", "2027-02-30"),
        ("datetime", "2027-02-28T10:00:00+00:00", "2027-02-28T10:00:00+00:00", "yesterday"),
        ("checkbox", "on", True, "maybe"),
        ("email", "A@B.example", "a@b.example", "nope"),
        ("phone", "+1 (555) 010-0100", "+1 (555) 010-0100", "call me"),
        ("url", "example.com/x", "https://example.com/x", "not a url at all"),
    ],
)
def test_custom_field_types_validate_in_the_service(ctx, type, good, stored, bad):
    spec = registry.get("vendors")
    custom_field_create(actor=ctx, spec=spec, key="f", label="F", type=type)

    record = record_create(spec=spec, actor=ctx, data={"name": "V"}, custom={"f": good})
    with pytest.raises(ValidationError) as error:
        record_create(spec=spec, actor=ctx, data={"name": "W"}, custom={"f": bad})

    assert record.custom_data == {"f": stored}
    assert list(error.value.message_dict) == ["custom.f"]


def test_picklist_member_and_record_custom_fields(ctx, member, tenant_a):
    spec = registry.get("contacts")
    colleague = member(tenant_a)
    org = record_create(spec=registry.get("organizations"), actor=ctx, data={"name": "Org"})
    custom_field_create(actor=ctx, spec=spec, key="tier", label="Tier", type="picklist", choices=["Gold", "Silver"])
    custom_field_create(
        actor=ctx, spec=spec, key="skills", label="Skills", type="multipicklist", choices=["SQL", "Python"]
    )
    custom_field_create(actor=ctx, spec=spec, key="mentor", label="Mentor", type="member")
    custom_field_create(
        actor=ctx, spec=spec, key="partner", label="Partner", type="record", options={"target": "organizations"}
    )

    record = record_create(
        spec=spec,
        actor=ctx,
        data={"last_name": "L"},
        custom={"tier": "Gold", "skills": ["SQL", "Python", "SQL"], "mentor": colleague.pk, "partner": str(org.pk)},
    )
    with pytest.raises(ValidationError) as error:
        record_create(
            spec=spec,
            actor=ctx,
            data={"last_name": "M"},
            custom={
                "tier": "Bronze",
                "skills": ["Cobol"],
                "mentor": 999_999,
                "partner": "00000000-0000-0000-0000-000000000001",
            },
        )

    assert record.custom_data == {
        "tier": "Gold",
        "skills": ["SQL", "Python"],
        "mentor": colleague.pk,
        "partner": str(org.pk),
    }
    assert set(error.value.message_dict) == {"custom.tier", "custom.skills", "custom.mentor", "custom.partner"}


def test_required_unique_default_and_archive_without_data_loss(ctx):
    spec = registry.get("vendors")
    custom_field_create(actor=ctx, spec=spec, key="code", label="Code", type="text", unique=True)
    custom_field_create(actor=ctx, spec=spec, key="region", label="Region", type="text", default="EU")
    first = record_create(spec=spec, actor=ctx, data={"name": "A"}, custom={"code": "X1"})

    with pytest.raises(ValidationError) as clash:
        record_create(spec=spec, actor=ctx, data={"name": "B"}, custom={"code": "X1"})
    field = custom_field_update(actor=ctx, field=metadata.custom_fields(spec.key)[0], archived=True)
    updated = record_update(spec=spec, actor=ctx, record=first, data={"name": "A2"}, custom={"region": "US"})

    assert first.custom_data == {"code": "X1", "region": "EU"}
    assert clash.value.message_dict == {"custom.code": ["Another record already has this value."]}
    assert field.archived_at is not None
    assert updated.custom_data == {"code": "X1", "region": "US"}
    with pytest.raises(ValidationError):
        record_update(spec=spec, actor=ctx, record=updated, data={}, custom={"code": "X2"})


def test_custom_field_definitions_are_validated_and_admin_only(ctx, member, tenant_a):
    spec = registry.get("vendors")
    with pytest.raises(ValidationError) as error:
        custom_field_create(actor=ctx, spec=spec, key="Name!", label="", type="colour")
    with pytest.raises(ValidationError) as clash:
        custom_field_create(actor=ctx, spec=spec, key="email", label="E-mail", type="text")
    with pytest.raises(PermissionDenied):
        custom_field_create(actor=member(tenant_a), spec=spec, key="x", label="X", type="text")

    assert set(error.value.message_dict) == {"key", "label", "type"}
    assert clash.value.message_dict == {"key": ["This name is used by a standard field."]}


def test_custom_fields_are_per_tenant(ctx, tenant_b):
    custom_field_create(actor=ctx, spec=registry.get("vendors"), key="only_a", label="A", type="text")

    with tenant_context(tenant_b):
        assert metadata.custom_fields("vendors") == []


def test_a_record_holding_retired_values_can_still_be_saved_unchanged(ctx):
    spec = registry.get("leads")
    custom_field_create(actor=ctx, spec=spec, key="tier", label="Tier", type="picklist", choices=["Gold", "Silver"])
    lead = record_create(
        spec=spec, actor=ctx, data={"last_name": "X", "company": "Y", "status": "Cold"}, custom={"tier": "Gold"}
    )
    picklist_value_update(
        actor=ctx, value=PicklistValue.objects.get(picklist__name="lead_status", value="Cold"), retired=True
    )
    picklist_value_update(
        actor=ctx, value=PicklistValue.objects.get(picklist__name="cf:leads:tier", value="Gold"), retired=True
    )

    saved = record_update(
        spec=spec, actor=ctx, record=lead, data={"status": "Cold", "company": "Y2"}, custom={"tier": "Gold"}
    )

    assert (saved.status, saved.custom_data, saved.company) == ("Cold", {"tier": "Gold"}, "Y2")


def test_a_mass_update_that_fails_on_one_record_changes_none(ctx):
    from crm_apps.engine.services import records_mass_update

    # Given two vendors and a unique custom field: the same value fits the first and clashes on the second
    spec = registry.get("vendors")
    custom_field_create(actor=ctx, spec=spec, key="vat", label="VAT", type="text", unique=True)
    first = record_create(spec=spec, actor=ctx, data={"name": "First"})
    second = record_create(spec=spec, actor=ctx, data={"name": "Second"})

    # When both get the same unique value at once
    with pytest.raises(ValidationError):
        records_mass_update(
            spec=spec, actor=ctx, ids=[first.pk, second.pk], data={"name": "Renamed"}, custom={"vat": "V1"}
        )

    # Then neither changed (all or nothing)
    assert sorted(spec.model.objects.filter(pk__in=[first.pk, second.pk]).values_list("name", flat=True)) == [
        "First",
        "Second",
    ]
    assert not spec.model.objects.filter(custom_data__vat="V1").exists()
