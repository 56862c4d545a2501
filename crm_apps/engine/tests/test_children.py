"""Child tables through the services and the API, on the test-only orders module (childtest)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from conftest import statements
from crm_apps.audit.models import AuditEvent
from crm_apps.engine import registry
from crm_apps.engine.children import children_clean
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import ConflictError, record_create, record_update
from crm_apps.engine.tests.childtest.models import SampleOrder, SampleOrderLine

pytestmark = pytest.mark.django_db
MODULE = "childtest_orders"
LINES = [
    {"description": "Widgets", "quantity": "3", "unit_price": "2.50"},
    {"description": "Gadgets", "quantity": "1", "unit_price": "10.00"},
]


@pytest.fixture
def spec():
    return registry.get(MODULE)


@pytest.fixture
def ctx(tenant_a, admin_of):
    with tenant_context(tenant_a):
        yield admin_of(tenant_a)


@pytest.fixture
def api(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def lines_of(order):
    return list(
        SampleOrderLine.objects.filter(order=order).values_list("position", "description", "quantity", "amount")
    )


def test_create_saves_the_rows_in_order_and_the_totals_hook_sets_the_parent(ctx, spec):
    order = record_create(spec=spec, actor=ctx, data={"name": "Restock"}, children={"lines": LINES})

    stored = SampleOrder.objects.get(pk=order.pk)
    assert lines_of(order) == [
        (0, "Widgets", Decimal("3.000"), Decimal("7.50")),
        (1, "Gadgets", Decimal("1.000"), Decimal("10.00")),
    ]
    assert (stored.subtotal, stored.line_count, stored.version) == (Decimal("17.50"), 2, 1)
    created = AuditEvent.objects.get(action="record_created", record_id=str(order.pk))
    assert [row["description"] for row in created.changes["lines"][1]] == ["Widgets", "Gadgets"]
    assert created.changes["lines"][0] == []
    assert created.changes["subtotal"] == ["0.00", "17.50"]


def test_update_patches_rows_with_an_id_creates_rows_without_and_deletes_the_rest(ctx, spec):
    order = record_create(spec=spec, actor=ctx, data={"name": "Restock"}, children={"lines": LINES})
    widgets, gadgets = SampleOrderLine.objects.filter(order=order).order_by("position")

    record_update(
        spec=spec,
        actor=ctx,
        record=order,
        data={},
        children={
            "lines": [
                {"description": "Bolts", "quantity": "10", "unit_price": "0.10"},
                {"id": widgets.pk, "quantity": "4"},
            ]
        },
    )

    stored = SampleOrder.objects.get(pk=order.pk)
    assert lines_of(order) == [
        (0, "Bolts", Decimal("10.000"), Decimal("1.00")),
        (1, "Widgets", Decimal("4.000"), Decimal("10.00")),
    ]
    assert not SampleOrderLine.objects.filter(pk=gadgets.pk).exists()
    assert SampleOrderLine.objects.get(pk=widgets.pk).unit_price == Decimal("2.50")  # not sent: kept
    assert (stored.subtotal, stored.line_count, stored.version) == (Decimal("11.00"), 2, 2)


def test_a_change_to_rows_alone_bumps_the_version_and_is_on_the_timeline_and_in_the_audit(ctx, spec):
    order = record_create(spec=spec, actor=ctx, data={"name": "Restock"}, children={"lines": LINES})
    widgets = SampleOrderLine.objects.get(order=order, position=0)

    record_update(
        spec=spec, actor=ctx, record=order, data={}, children={"lines": [{"id": widgets.pk, "quantity": "5"}]}
    )

    entry = TimelineEntry.objects.get(record_id=order.pk, kind="updated")
    old_rows, new_rows = entry.data["changes"]["lines"]
    assert [r["quantity"] for r in old_rows] == ["3.000", "1.000"]
    assert new_rows == [
        {
            "id": widgets.pk,
            "description": "Widgets",
            "organization": None,
            "quantity": "5.000",
            "unit_price": "2.50",
            "amount": "12.50",
        }
    ]
    assert entry.data["changes"]["subtotal"] == ["17.50", "12.50"]
    assert entry.data["changes"]["line_count"] == [2, 1]
    audit = AuditEvent.objects.get(action="record_updated", record_id=str(order.pk))
    assert audit.changes == entry.data["changes"]
    assert SampleOrder.objects.get(pk=order.pk).version == 2


def test_sending_the_same_rows_again_is_not_a_change(ctx, spec):
    order = record_create(spec=spec, actor=ctx, data={"name": "Restock"}, children={"lines": LINES})
    rows = [
        {"id": r.pk, "description": r.description, "quantity": f"{r.quantity:.0f}", "unit_price": str(r.unit_price)}
        for r in SampleOrderLine.objects.filter(order=order).order_by("position")
    ]

    record_update(spec=spec, actor=ctx, record=order, data={}, children={"lines": rows})
    record_update(spec=spec, actor=ctx, record=order, data={"name": "Restock"})  # no children key: untouched

    assert SampleOrder.objects.get(pk=order.pk).version == 1
    assert not TimelineEntry.objects.filter(record_id=order.pk, kind="updated").exists()
    assert len(lines_of(order)) == 2


def test_reordering_rows_is_a_change(ctx, spec):
    order = record_create(spec=spec, actor=ctx, data={"name": "Restock"}, children={"lines": LINES})
    first, second = SampleOrderLine.objects.filter(order=order).order_by("position")

    record_update(
        spec=spec, actor=ctx, record=order, data={}, children={"lines": [{"id": second.pk}, {"id": first.pk}]}
    )

    assert [d for _p, d, _q, _a in lines_of(order)] == ["Gadgets", "Widgets"]
    assert SampleOrder.objects.get(pk=order.pk).version == 2


def test_bad_rows_name_the_row_and_field_and_write_nothing(ctx, spec):
    order = record_create(spec=spec, actor=ctx, data={"name": "Restock"}, children={"lines": LINES})
    stranger = record_create(spec=spec, actor=ctx, data={"name": "Other"}, children={"lines": LINES[:1]})
    foreign_row = SampleOrderLine.objects.get(order=stranger)

    with pytest.raises(ValidationError) as bad:
        record_update(
            spec=spec,
            actor=ctx,
            record=order,
            data={"name": ""},
            children={
                "lines": [
                    {"description": "Fine", "quantity": "1", "unit_price": "1"},
                    {"description": "Widgets", "quantity": "0", "unit_price": "x"},
                    {"id": foreign_row.pk, "quantity": "1"},
                    {"description": "forbidden", "quantity": "1", "unit_price": "1"},
                    {"description": "A", "quantity": "1", "unit_price": "1", "position": 9, "colour": "red"},
                    "not a row",
                ]
            },
        )

    assert bad.value.message_dict == {
        "name": ["This field cannot be blank."],
        "lines.1.unit_price": ["“x” value must be a decimal number."],
        "lines.2.id": ["This row does not belong to this record."],
        "lines.3.non_field_errors": ["This line may not be sold."],
        "lines.4.colour": ["Unknown field."],
        "lines.4.position": ["This field is read-only."],
        "lines.5.non_field_errors": ["Send an object of field values."],
    }
    assert SampleOrder.objects.get(pk=order.pk).version == 1
    assert len(lines_of(order)) == 2


def test_model_validators_run_on_each_row(ctx, spec):
    with pytest.raises(ValidationError) as bad:
        record_create(
            spec=spec,
            actor=ctx,
            data={"name": "Restock"},
            children={"lines": [LINES[0], {"description": "", "quantity": "0", "unit_price": "-1"}]},
        )

    assert bad.value.message_dict == {
        "lines.1.description": ["This field cannot be blank."],
        "lines.1.quantity": ["Ensure this value is greater than or equal to 0.001."],
        "lines.1.unit_price": ["Ensure this value is greater than or equal to 0."],
    }
    assert not SampleOrder.objects.filter(name="Restock").exists()


def test_too_many_rows_and_a_non_list_are_table_errors(ctx, spec):
    too_many = [dict(LINES[0]) for _ in range(51)]

    with pytest.raises(ValidationError) as many:
        record_create(spec=spec, actor=ctx, data={"name": "Big"}, children={"lines": too_many})
    with pytest.raises(ValidationError) as shape:
        record_create(spec=spec, actor=ctx, data={"name": "Big"}, children={"lines": {"a": 1}})

    assert many.value.message_dict == {"lines": ["Send at most 50 rows."]}
    assert shape.value.message_dict == {"lines": ["Send a list of rows."]}


def test_a_reference_in_a_row_must_be_visible_to_the_actor(ctx, tenant_a, tenant_b, admin_of, spec):
    organizations = registry.get("organizations")
    mine = record_create(spec=organizations, actor=ctx, data={"name": "Supplier A"})
    with tenant_context(tenant_b):
        theirs = record_create(spec=organizations, actor=admin_of(tenant_b), data={"name": "Supplier B"})

    with tenant_context(tenant_a):
        order = record_create(
            spec=spec, actor=ctx, data={"name": "R"}, children={"lines": [{**LINES[0], "organization": str(mine.pk)}]}
        )
        with pytest.raises(ValidationError) as bad:
            record_create(
                spec=spec,
                actor=ctx,
                data={"name": "R"},
                children={"lines": [{**LINES[0], "organization": str(theirs.pk)}]},
            )

        assert SampleOrderLine.objects.get(order=order).organization_id == mine.pk
    assert bad.value.message_dict == {"lines.0.organization": ["Choose an existing record."]}


def test_stale_version_on_a_child_only_change_is_a_conflict(ctx, spec):
    order = record_create(spec=spec, actor=ctx, data={"name": "Restock"}, children={"lines": LINES})
    record_update(spec=spec, actor=ctx, record=order, data={}, children={"lines": LINES[:1]}, expected_version=1)

    with pytest.raises(ConflictError):
        record_update(spec=spec, actor=ctx, record=order, data={}, children={"lines": []}, expected_version=1)

    assert len(lines_of(order)) == 1


def restricted_member(tenant, admin, member, *, modules=None, fields=None):
    """A member whose only profile has these module rights and field access in the orders module."""
    from crm_apps.access.models import Role
    from crm_apps.access.services import profile_save, profile_set_fields, profile_set_modules, role_create

    profile = profile_save(actor=admin, profile=None, name="Order clerks", flags={})
    if modules:
        profile_set_modules(actor=admin, profile=profile, rights={MODULE: modules})
    if fields:
        profile_set_fields(actor=admin, profile=profile, module=MODULE, access=fields)
    role = role_create(
        actor=admin, name="Clerk", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
    )
    return member(tenant, role=role)


def test_writing_rows_needs_the_edit_right_on_the_parent(ctx, tenant_a, member, spec):
    order = record_create(spec=spec, actor=ctx, data={"name": "Restock"}, children={"lines": LINES})
    reader = restricted_member(tenant_a, ctx, member, modules={"view": True, "create": False, "edit": False})

    with tenant_context(tenant_a), pytest.raises(PermissionDenied):
        record_update(spec=spec, actor=reader, record=order, data={}, children={"lines": []})

    assert len(lines_of(order)) == 2


def test_a_read_only_child_table_is_refused_by_field_access(ctx, tenant_a, member, spec):
    from crm_apps.access.visibility import FieldPermissionDenied

    order = record_create(spec=spec, actor=ctx, data={"name": "Restock"}, children={"lines": LINES})
    clerk = restricted_member(tenant_a, ctx, member, fields={"lines": "readonly"})

    with tenant_context(tenant_a):
        with pytest.raises(FieldPermissionDenied):
            record_update(spec=spec, actor=clerk, record=order, data={}, children={"lines": []})
        renamed = record_update(spec=spec, actor=clerk, record=order, data={"name": "Renamed"})

    assert renamed.name == "Renamed"
    assert len(lines_of(order)) == 2


def test_children_clean_refuses_unknown_tables(ctx, spec):
    with pytest.raises(ValidationError) as bad:
        children_clean(spec=spec, actor=ctx, incoming={"rows": []}, stored={})

    assert bad.value.message_dict == {"rows": ["Unknown field."]}


# API ------------------------------------------------------------------------------------------


def test_api_create_retrieve_and_patch_rows(api):
    created = api.post(f"/api/v1/{MODULE}/", {"name": "Restock", "lines": LINES}, content_type="application/json")
    body = created.json()
    first = body["lines"][0]

    patched = api.patch(
        f"/api/v1/{MODULE}/{body['id']}/",
        {"lines": [{"id": first["id"], "quantity": "2"}], "version": body["version"]},
        content_type="application/json",
    )
    fetched = api.get(f"/api/v1/{MODULE}/{body['id']}/").json()

    assert created.status_code == 201
    assert [(r["description"], r["amount"]) for r in body["lines"]] == [("Widgets", "7.50"), ("Gadgets", "10.00")]
    assert (body["subtotal"], body["line_count"]) == ("17.50", 2)
    assert patched.status_code == 200, patched.json()
    assert patched.json() == fetched
    assert fetched["lines"] == [
        {
            "id": first["id"],
            "description": "Widgets",
            "organization": None,
            "quantity": "2.000",
            "unit_price": "2.50",
            "amount": "5.00",
        }
    ]
    assert (fetched["subtotal"], fetched["line_count"], fetched["version"]) == ("5.00", 1, 2)


def test_api_row_errors_are_nested_per_row(api):
    response = api.post(
        f"/api/v1/{MODULE}/",
        {"name": "Restock", "lines": [LINES[0], {"description": "X", "quantity": "many", "unit_price": "1"}]},
        content_type="application/json",
    )
    too_many = api.post(
        f"/api/v1/{MODULE}/", {"name": "Restock", "lines": [LINES[0]] * 51}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"lines": [{}, {"quantity": ["“many” value must be a decimal number."]}]}
    assert too_many.json() == {"lines": ["Send at most 50 rows."]}
    assert api.get(f"/api/v1/{MODULE}/?view=all").json()["results"] == []


def test_api_hides_a_hidden_child_table(client_for, ctx, tenant_a, member, spec):
    order = record_create(spec=spec, actor=ctx, data={"name": "R"}, children={"lines": LINES})
    clerk = restricted_member(tenant_a, ctx, member, fields={"lines": "hidden"})

    body = client_for(tenant_a, clerk).get(f"/api/v1/{MODULE}/{order.pk}/").json()

    assert "lines" not in body
    assert body["subtotal"] == "17.50"


def test_api_detail_with_rows_costs_one_query_per_child_table(api, ctx, spec):
    order = record_create(spec=spec, actor=ctx, data={"name": "R"}, children={"lines": LINES * 10})

    with CaptureQueriesContext(connection) as detail:
        response = api.get(f"/api/v1/{MODULE}/{order.pk}/")

    assert len(response.json()["lines"]) == 20
    # Session with member and user, the record, the rows (the tenant has no custom fields: memoised).
    assert len(statements(detail)) == 3, [q[:120] for q in statements(detail)]


def test_the_schema_documents_the_rows(api):
    response = api.get("/api/v1/schema/?format=json")
    schema = response.json()
    record = schema["components"]["schemas"]["SampleOrderRecord"]
    row = schema["components"]["schemas"]["SampleOrderLineRow"]

    assert record["properties"]["lines"]["type"] == "array"
    assert record["properties"]["lines"]["items"] == {"$ref": "#/components/schemas/SampleOrderLineRow"}
    assert set(row["properties"]) == {"id", "description", "organization", "quantity", "unit_price", "amount"}
    assert row["properties"]["amount"]["readOnly"] is True


def test_api_batch_create_takes_rows_and_names_a_bad_row_by_record_and_row(api, tenant_a):
    created = api.post(
        f"/api/v1/{MODULE}/batch",
        {"records": [{"name": "One", "lines": LINES}, {"name": "Two"}]},
        content_type="application/json",
    )
    bad = api.post(
        f"/api/v1/{MODULE}/batch",
        {"records": [{"name": "Three"}, {"name": "Four", "lines": [LINES[0], {**LINES[1], "quantity": "-1"}]}]},
        content_type="application/json",
    )

    assert created.status_code == 201, created.json()
    one, two = created.json()["results"]
    with tenant_context(tenant_a):
        assert lines_of(one["id"]) == [
            (0, "Widgets", Decimal("3.000"), Decimal("7.50")),
            (1, "Gadgets", Decimal("1.000"), Decimal("10.00")),
        ]
        assert SampleOrder.objects.get(pk=one["id"]).subtotal == Decimal("17.50")
        assert lines_of(two["id"]) == []
        audit = AuditEvent.objects.get(action="record_created", record_id=one["id"])
    assert len(audit.changes["lines"][1]) == 2
    assert bad.status_code == 400
    assert bad.json() == {"records.1.lines.1.quantity": ["Ensure this value is greater than or equal to 0.001."]}
    assert {r["name"] for r in api.get(f"/api/v1/{MODULE}/?view=all").json()["results"]} == {"One", "Two"}


def test_the_system_check_refuses_a_child_table_naming_wrong_fields(spec):
    from dataclasses import replace

    from crm_apps.engine.checks import _children_errors

    bad = replace(
        spec.children[0],
        fk="organization",
        ordering="description",
        fields=("description", "colour"),
        totals_fields=("name",),
        min_rows=3,
        max_rows=2,
    )
    clash = replace(spec.children[0], key="name")

    errors = _children_errors(replace(spec, children=(bad, clash)), "module 'x'")

    assert [e.id for e in errors] == [
        "engine.E007",
        "engine.E008",
        "engine.E009",  # "description": the ordering field is not editable
        "engine.E009",  # "colour": no such field
        "engine.E010",
        "engine.E011",
        "engine.E006",
    ]
    assert _children_errors(spec, "module 'x'") == []
