"""The structured custom field type: named parts declared in the field's options, each cleaned by its type
and bounds, stored as one object; shown through a display template; edited with one input per part;
created only with a valid declaration (and never offered by the settings form, which has no parts editor)."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from crm_apps.access.models import Member
from crm_apps.engine import field_types, registry
from crm_apps.engine.models import CustomField, FieldType
from crm_apps.engine.services import custom_field_create, record_create
from crm_apps.engine.settings_forms import CustomFieldCreateForm

PARTS: list[dict[str, Any]] = [
    {"key": "street", "label": "Street", "type": "text", "max_length": 20},
    {"key": "city", "label": "City", "type": "text", "required": True},
    {"key": "lat", "label": "Latitude", "type": "decimal", "min": -90, "max": 90},
    {"key": "floors", "label": "Floors", "type": "integer", "min": 0},
    {"key": "hq", "label": "Head office", "type": "boolean"},
]


def structured(display: str = "{street}, {city}") -> CustomField:
    return CustomField(
        module="organizations",
        key="addr",
        label="Address",
        type="structured",
        options={"parts": PARTS, "display": display},
    )


def test_each_part_is_cleaned_by_its_type_and_empty_parts_are_dropped():
    cleaned = field_types.clean_value(
        structured(), {"street": " Main St ", "city": "Berlin", "lat": 52.52, "floors": "3", "hq": "yes"}
    )
    assert cleaned == {"street": "Main St", "city": "Berlin", "lat": "52.52", "floors": 3, "hq": True}
    assert field_types.clean_value(structured(), '{"city": "Oslo", "street": ""}') == {"city": "Oslo"}
    assert field_types.clean_value(structured(), None) is None


def test_every_problem_names_its_part():
    with pytest.raises(ValidationError) as caught:
        field_types.clean_value(
            structured(), {"street": "x" * 21, "lat": "north", "floors": -1, "hq": "maybe", "planet": "Mars"}
        )
    assert caught.value.messages == [
        "Unknown part “planet”.",
        "Street: Ensure this value has at most 20 characters.",
        "City: this part is required.",
        "Latitude: Enter a number.",
        "Floors: Must be at least 0.",
        "Head office: Enter true or false.",
    ]
    with pytest.raises(ValidationError) as not_an_object:
        field_types.clean_value(structured(), ["Berlin"])
    assert not_an_object.value.messages == ["Send an object of the value's parts."]
    with pytest.raises(ValidationError) as too_far:
        field_types.clean_value(structured(), {"city": "X", "lat": "90.5"})
    assert too_far.value.messages == ["Latitude: Must be at most 90."]


def test_the_display_template_skips_missing_parts():
    value = {"street": "Main St", "city": "Berlin"}
    assert field_types.display_value(structured(), value) == "Main St, Berlin"
    assert field_types.display_value(structured(), {"city": "Berlin"}) == "Berlin"
    assert field_types.display_value(structured("{city} ({lat})"), {"city": "Oslo", "lat": "59.9"}) == "Oslo (59.9)"
    assert field_types.display_value(structured(""), value) == "Main St, Berlin"
    assert field_types.export_value(structured(), value) == "Main St, Berlin"


def test_the_form_edits_one_labelled_input_per_part():
    made = field_types.kind_for("structured").form_field(
        structured(), current=None, actor=Member(), common={"label": "Address", "required": False, "help_text": ""}
    )
    html = made.widget.render("custom__addr", {"street": "Main St", "city": "Berlin"})
    assert 'aria-label="Street"' in html and 'value="Main St"' in html and 'aria-label="Head office"' in html
    # An unticked box is "no", kept with the other parts; a form left empty stores nothing.
    assert made.clean(["Main St", "Berlin", "", "", False]) == {"street": "Main St", "city": "Berlin", "hq": False}
    assert made.clean(["", "", "", "", False]) is None
    type_field = CustomFieldCreateForm().fields["type"]
    assert isinstance(type_field, forms.ChoiceField)
    assert FieldType.STRUCTURED not in [value for value, _label in list(type_field.choices)]  # type: ignore[arg-type]


def test_a_structured_field_needs_a_valid_declaration(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    spec = registry.get("organizations")
    with schema_context(tenant_a.schema_name):
        with pytest.raises(ValidationError) as caught:
            custom_field_create(
                actor=admin,
                spec=spec,
                key="addr",
                label="Address",
                type="structured",
                options={
                    "parts": [
                        {"key": "city", "label": "City", "type": "text"},
                        {"key": "city", "label": "Again", "type": "colour", "max_length": 3},
                    ],
                    "display": "{town}",
                },
            )
        assert caught.value.message_dict == {
            "options": [
                "The part “city” appears twice.",
                "The part “city” has an unknown type.",
                "Only text parts have a maximum length (1-500). (city)",
                "The display template names “town”, which is not a part.",
            ]
        }
        with pytest.raises(ValidationError) as no_parts:
            custom_field_create(actor=admin, spec=spec, key="addr", label="Address", type="structured", options={})
        assert no_parts.value.message_dict == {"options": ["Give 1 to 12 parts."]}
        assert not CustomField.objects.exists()

        custom_field_create(
            actor=admin, spec=spec, key="addr", label="Address", type="structured", options={"parts": PARTS}
        )
        org = record_create(
            spec=spec, actor=admin, data={"name": "Spree"}, custom={"addr": {"city": "Berlin", "floors": "2"}}
        )
        assert org.custom_data == {"addr": {"city": "Berlin", "floors": 2}}
        found = spec.records().filter(field_types.filter_q(CustomField.objects.get(), "berl")[0])
        assert list(found) == [org]


def test_a_required_boolean_part_can_be_no_and_booleans_show_as_yes_or_no():
    parts = [{"key": "lift", "label": "Lift", "type": "boolean", "required": True}]
    field = CustomField(module="organizations", key="acc", label="Access", type="structured", options={"parts": parts})
    made = field_types.kind_for("structured").form_field(
        field, current=None, actor=Member(), common={"label": "Access", "required": False, "help_text": ""}
    )
    assert made.clean([False]) == {"lift": False}
    assert field_types.clean_value(field, {"lift": False}) == {"lift": False}
    with pytest.raises(ValidationError) as missing:
        field_types.clean_value(field, {})
    assert missing.value.messages == ["Lift: this part is required."]
    assert field_types.display_value(structured("{city}: {hq}"), {"city": "Oslo", "hq": True}) == "Oslo: Yes"
    assert field_types.display_value(structured(""), {"city": "Oslo", "hq": False}) == "Oslo, No"
    from django.utils import translation

    with translation.override("ru"):
        assert field_types.display_value(structured(""), {"city": "Oslo", "hq": False}) == "Oslo, Нет"


def test_declarations_need_boolean_required_and_ordered_bounds_and_unknown_parts_are_capped():
    assert field_types.structure_problems(
        {"parts": [{"key": "n", "label": "N", "type": "integer", "min": 5, "max": 1, "required": "yes"}]}
    ) == ["The minimum is above the maximum. (n)", "“required” is true or false. (n)"]
    assert field_types.structure_problems({"parts": PARTS}) == []
    with pytest.raises(ValidationError) as caught:
        field_types.clean_value(structured(), {"city": "Oslo", **{f"x{i}": 1 for i in range(500)}})
    assert caught.value.messages == [
        *[f"Unknown part “x{i}”." for i in range(5)],
        "… and 495 more unknown parts.",
    ]
