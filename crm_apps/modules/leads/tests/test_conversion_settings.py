"""The leads module's settings page (ModuleSpec.settings_pages): the lead conversion mapping."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.modules.leads.models import ConversionMapping

pytestmark = pytest.mark.django_db
BASE = "/settings/modules"
URL = f"{BASE}/leads/conversion/"
LONG = "x" * 10_000


@pytest.fixture
def web(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def test_conversion_screen_renders_a_select_per_target_field(web):
    response = web.get(f"{BASE}/leads/conversion/")

    assert response.status_code == 200
    form = response.context["form"]
    expected = [f"{t}__{name}" for t in ("organizations", "contacts", "deals") for name in registry.get(t).form_fields]
    assert list(form.fields) == expected
    assert form["contacts__last_name"].value() == "last_name"
    assert form["organizations__name"].value() == "company"
    assert form["deals__amount"].value() is None


def test_only_admins_see_or_change_the_mapping(client_for, tenant_a, tenant_b, member, admin_of):
    before = mapping(tenant_a)
    outsider = client_for(tenant_a, member(tenant_a))
    foreign_admin = client_for(tenant_a, admin_of(tenant_b))
    anonymous = client_for(tenant_a)

    assert outsider.get(URL).status_code == 403
    assert outsider.post(URL, {"contacts__title": "company"}).status_code == 403
    assert anonymous.post(URL, {"contacts__title": "company"}).status_code == 302
    assert foreign_admin.post(URL, {"contacts__title": "company"}).status_code == 302  # not a member here: anonymous
    assert mapping(tenant_a) == before


def mapping(tenant):
    with tenant_context(tenant):
        return {(m.target, m.target_field): m.lead_field for m in ConversionMapping.objects.all()}


def conversion_post(client, **changes):
    """The conversion form as the page posts it (current mapping), with `changes` applied."""
    form = client.get(f"{BASE}/leads/conversion/").context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(changes)
    return client.post(f"{BASE}/leads/conversion/", data)


def test_conversion_mapping_is_changed_and_cleared(web, tenant_a):
    before = mapping(tenant_a)

    response = conversion_post(web, contacts__title="company", contacts__fax="", deals__next_step="description")

    assert response.status_code == 302
    after = mapping(tenant_a)
    assert after[("contacts", "title")] == "company"
    assert ("contacts", "fax") not in after
    assert after[("deals", "next_step")] == "description"
    expected = dict(before)
    expected.pop(("contacts", "fax"))
    expected[("contacts", "title")] = "company"
    expected[("deals", "next_step")] = "description"
    assert after == expected


def test_an_incompatible_mapping_is_a_form_error_and_nothing_is_saved(web, tenant_a):
    before = mapping(tenant_a)

    response = conversion_post(web, contacts__title="company", contacts__organization="company")

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "contacts__organization": ["These fields hold different kinds of values."]
    }
    assert mapping(tenant_a) == before


@pytest.mark.parametrize("value", ["converted", "no_such_field", LONG, "company\x00"])
def test_unknown_lead_fields_are_form_errors(web, tenant_a, value):
    before = mapping(tenant_a)

    response = conversion_post(web, contacts__title=value)

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["contacts__title"]
    assert mapping(tenant_a) == before
