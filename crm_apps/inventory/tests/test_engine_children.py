"""The engine capabilities the documents added (ADR inventory documents, "Engine changes"):
`ChildSpec.form_fields`, structured values for a JSON column of a row, and `ChildSpec.row_fields` (a
column the module draws itself: the line's taxes as a list in the form)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.checks import _children_errors
from crm_apps.engine.child_forms import child_tables
from crm_apps.engine.children import children_clean

pytestmark = pytest.mark.django_db


def test_form_fields_must_be_some_of_the_fields():
    spec = registry.get("invoices")
    bad = replace(spec.children[0], form_fields=("description", "taxes", "colour"))
    assert [e.id for e in _children_errors(replace(spec, children=(bad,)), "module 'x'")] == ["engine.E012"]
    assert _children_errors(spec, "module 'x'") == []


def test_row_fields_must_be_columns_of_the_form():
    spec = registry.get("invoices")
    bad = replace(spec.children[0], form_fields=("description", "quantity"))
    assert [e.id for e in _children_errors(replace(spec, children=(bad,)), "module 'x'")] == ["engine.E026"]


def test_the_form_shows_form_fields_and_a_json_column_takes_a_list(tenant_a, admin_of, catalogue):
    spec = registry.get("invoices")
    with tenant_context(tenant_a):
        admin = admin_of(tenant_a)
        tables = child_tables(spec, actor=admin, record=None)
        assert "quantity" in tables[0].blank.fields
        # the taxes column is the module's list: the item's taxes by default, no tax, each active tax
        taxes_field: Any = tables[0].blank.fields["taxes"]
        choices = dict(taxes_field.choices)
        assert list(choices)[:2] == ["item", "none"] and f"t:{catalogue.vat.pk}" in choices
        plans = children_clean(
            spec=spec,
            actor=admin,
            incoming={
                "lines": [
                    {
                        "description": "x",
                        "quantity": "1",
                        "list_price": "2",
                        "taxes": [{"tax": catalogue.vat.pk, "percent": "5"}],
                    }
                ]
            },
            stored={},
        )
        assert plans["lines"].rows[0].taxes == [{"tax": catalogue.vat.pk, "percent": "5"}]
        with pytest.raises(ValidationError) as refused:
            children_clean(
                spec=spec,
                actor=admin,
                incoming={"lines": [{"description": "x", "quantity": "1", "list_price": "2", "taxes": {"tax": "a"}}]},
                stored={},
            )
        assert "lines.0.taxes" in refused.value.message_dict
