"""crm_defaults_install: what every new tenant gets, installed in a few statements, never overwriting edits."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.defaults import crm_defaults_install
from crm_apps.engine.models import NumberingSequence, Picklist, PicklistValue

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[list[Any], list[Any]]:
    numbering = list(NumberingSequence.objects.order_by("module").values_list("module", "prefix", "next_number"))
    values = list(
        PicklistValue.objects.order_by("picklist__name", "position", "id").values_list(
            "picklist__name", "value", "label", "position", "retired"
        )
    )
    return numbering, values


def test_every_module_gets_its_numbering_and_picklists(tenant_a):
    with tenant_context(tenant_a):
        numbering, values = snapshot()

    assert {m for m, _p, _n in numbering} == {spec.key for spec in registry.all_specs()}
    wanted: dict[str, list[str]] = {}
    for spec in registry.all_specs():
        for name, defaults in spec.default_picklists.items():
            wanted.setdefault(name, list(defaults))  # a shared picklist: the first module's values
    for name, defaults in wanted.items():
        assert [v for n, v, *_ in values if n == name] == defaults, name


def test_a_second_run_changes_nothing_and_keeps_what_admins_edited(tenant_a):
    with tenant_context(tenant_a):
        NumberingSequence.objects.filter(module="contacts").update(prefix="C-", next_number=42)
        first = PicklistValue.objects.filter(picklist__name="industry").order_by("position")[0]
        PicklistValue.objects.filter(pk=first.pk).update(label="Renamed", retired=True)
        before = snapshot()

        with CaptureQueriesContext(connection) as captured:
            crm_defaults_install()

        assert snapshot() == before
        assert len(captured) <= 12


def test_a_missing_picklist_is_installed_again_with_its_default_values(tenant_a):
    spec = registry.get("deals")
    name, defaults = next(iter(spec.default_picklists.items()))
    with tenant_context(tenant_a):
        Picklist.objects.filter(name=name).delete()

        crm_defaults_install()

        assert list(
            PicklistValue.objects.filter(picklist__name=name).order_by("position").values_list("value", "position")
        ) == [(value, position) for position, value in enumerate(defaults)]
