"""One class per custom field type: every type has one, and each answers every question the engine asks."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import ValidationError
from rest_framework import serializers

from crm_apps.access.models import Member
from crm_apps.engine import field_types
from crm_apps.engine.models import CustomField, FieldType


def field(type_: str, **options: object) -> CustomField:
    return CustomField(module="vendors", key="f", label="F", type=type_, options=options)


def test_every_field_type_has_exactly_one_class():
    assert sorted(field_types.KINDS) == sorted(FieldType.values)
    assert all(kind.type == type_ for type_, kind in field_types.KINDS.items())


def test_an_unknown_type_is_refused_everywhere_it_is_used():
    rogue = field("spreadsheet")

    with pytest.raises(ValidationError) as cleaned:
        field_types.clean_value(rogue, "x")
    with pytest.raises(ValidationError) as filtered:
        field_types.filter_q(rogue, "x")

    assert cleaned.value.messages == ["Unknown field type."]
    assert filtered.value.messages == ["Unknown field type."]
    assert field_types.display_value(rogue, "x") == "x"  # a stored value still shows, as text


@pytest.mark.parametrize(
    ("type_", "stored", "shown"),
    [
        ("checkbox", True, "Yes"),
        ("checkbox", False, "No"),
        ("multipicklist", ["SQL", "Python"], "SQL, Python"),
        ("percent", "12.5", "12.5%"),
        ("decimal", "1200.5", "1200.5"),
        ("date", "2026-02-28", "2026-02-28"),
        ("text", "=SUM(A1)", "=SUM(A1)"),  # made safe by exports.safe_cell, not by the type
    ],
)
def test_display_and_export_text(type_, stored, shown):
    assert field_types.display_value(field(type_), stored) == shown
    assert field_types.export_value(field(type_), stored) == shown
    assert field_types.display_value(field(type_), None) == ""
    assert field_types.export_value(field(type_), None) == ""


@pytest.mark.parametrize(
    ("type_", "serializer_class"),
    [
        ("text", serializers.CharField),
        ("integer", serializers.IntegerField),
        ("currency", serializers.DecimalField),
        ("date", serializers.DateField),
        ("datetime", serializers.DateTimeField),
        ("checkbox", serializers.BooleanField),
        ("email", serializers.EmailField),
        ("url", serializers.URLField),
        ("multipicklist", serializers.ListField),
        ("member", serializers.IntegerField),
        ("record", serializers.UUIDField),
    ],
)
def test_serializer_field_gives_the_openapi_type(type_, serializer_class):
    assert type(field_types.kind_for(type_).serializer_field()) is serializer_class


@pytest.mark.parametrize(
    ("type_", "form_class"),
    [
        ("text", forms.CharField),
        ("textarea", forms.CharField),
        ("integer", forms.IntegerField),
        ("percent", forms.DecimalField),
        ("date", forms.DateField),
        ("datetime", forms.DateTimeField),
        ("email", forms.EmailField),
        ("phone", forms.CharField),
        ("record", forms.CharField),
    ],
)
def test_form_field(type_, form_class):
    common = {"label": "F", "required": True, "help_text": ""}

    made = field_types.kind_for(type_).form_field(field(type_), current=None, actor=Member(), common=common)

    assert type(made) is form_class
    assert (made.label, made.required) == ("F", True)


def test_a_checkbox_form_field_is_never_required():
    common = {"label": "F", "required": True, "help_text": ""}

    made = field_types.kind_for("checkbox").form_field(field("checkbox"), current=None, actor=Member(), common=common)

    assert made.required is False


def test_number_filters_cast_the_json_text_and_take_ranges():
    q, annotations = field_types.filter_q(field("integer"), "10", op="gte")

    assert list(annotations) == ["_cf_f"]
    assert q.children == [("_cf_f__gte", field_types.Decimal("10"))]


def test_text_filters_match_part_of_the_value_and_multipicklists_one_choice():
    text_q, text_annotations = field_types.filter_q(field("email"), "ACME")
    multi_q, _ = field_types.filter_q(field("multipicklist"), "SQL")

    assert (text_q.children, text_annotations) == ([("custom_data__f__icontains", "ACME")], {})
    assert multi_q.children == [("custom_data__f__contains", ["SQL"])]


def test_an_empty_filter_value_matches_records_without_a_value():
    q, _ = field_types.filter_q(field("picklist"), "")

    assert q.children == [("custom_data__f", None)]


def test_text_max_length_comes_from_the_field_options():
    with pytest.raises(ValidationError):
        field_types.clean_value(field("text", max_length=3), "abcd")

    assert field_types.clean_value(field("text", max_length=3), " abc ") == "abc"
    assert field_types.clean_value(field("textarea", max_length=3), "abcd") == "abcd"


@pytest.mark.parametrize(
    ("type_", "ui"), [("picklist", "select"), ("multipicklist", "multiselect"), ("member", "select")]
)
def test_choice_types_edit_with_searchable_selects(tenant_a, type_, ui):
    from django_tenants.utils import tenant_context

    common = {"label": "X", "required": False, "help_text": ""}

    with tenant_context(tenant_a):
        made = field_types.kind_for(type_).form_field(field(type_), current=None, actor=Member(), common=common)

    assert made.widget.attrs["data-ui"] == ui
