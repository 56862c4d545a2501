"""A line's taxes chosen in the edit form (the module-drawn `taxes` column): the item's taxes, no tax,
one of the workspace's taxes, and a combination set through the API kept as it is."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from crm_apps.inventory.tests.conftest import post

pytestmark = pytest.mark.django_db


def _form_data(page, rows):
    """The edit form's values as the browser would post them, with `rows` as the lines."""
    form = page.context["form"]
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or name.startswith("lines") or name.startswith("taxes"):
            continue
        data[name] = value
    data["lines-TOTAL_FORMS"] = str(len(rows))
    data["taxes-TOTAL_FORMS"] = "0"
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"lines-{index}-{name}"] = value
    return data


def test_each_line_takes_the_tax_chosen_in_the_form(client_for, tenant_a, admin_of, catalogue):
    from crm_apps.modules.quotes.models import Quote

    web = client_for(tenant_a, admin_of(tenant_a))
    new = web.get("/m/quotes/new/")
    choices = dict(new.context["child_tables"][0].blank.fields["taxes"].choices)
    assert choices["item"] == "Item's taxes" and choices[f"t:{catalogue.reduced.pk}"] == "Reduced 10 %"
    data = _form_data(
        new,
        [
            {"product": str(catalogue.hammock.pk), "quantity": "1", "list_price": "100", "taxes": "item"},
            {"product": str(catalogue.rope.pk), "quantity": "1", "list_price": "10", "taxes": "none"},
            {"description": "Delivery", "quantity": "1", "list_price": "50", "taxes": f"t:{catalogue.reduced.pk}"},
        ],
    )
    data["subject"] = "Taxes by line"
    saved = web.post("/m/quotes/new/", data)
    assert saved.status_code == 302, saved.context and saved.context["form"].errors
    with tenant_context(tenant_a):
        quote = Quote.objects.get(subject="Taxes by line")
        lines = list(quote.lines.order_by("position"))
        assert [[(t["tax"], t["percent"]) for t in line.taxes] for line in lines] == [
            [(catalogue.vat.pk, "20")],  # the hammock's tax class
            [],
            [(catalogue.reduced.pk, "10")],
        ]
        assert quote.tax_total == Decimal("25.00")  # 20 + 0 + 5

    # the detail page names each line's taxes; the edit form shows them as chosen
    detail = web.get(f"/m/quotes/{quote.pk}/").content.decode()
    assert "VAT 20 %" in detail and "No tax" in detail and "Reduced 10 %" in detail
    edit = web.get(f"/m/quotes/{quote.pk}/edit/")
    rows = edit.context["child_tables"][0].rows
    assert [row.form.initial["taxes"] for row in rows] == [
        f"t:{catalogue.vat.pk}",
        "none",
        f"t:{catalogue.reduced.pk}",
    ]


def test_a_combination_set_through_the_api_is_kept_by_a_form_save(api, client_for, tenant_a, admin_of, catalogue):
    from crm_apps.modules.quotes.models import Quote

    taxes = [{"tax": catalogue.vat.pk, "percent": "18"}, {"tax": catalogue.reduced.pk}]
    created = post(
        api,
        "/api/v1/quotes/",
        {
            "subject": "Two taxes",
            "lines": [{"description": "Work", "quantity": "1", "list_price": "100", "taxes": taxes}],
        },
    ).json()
    web = client_for(tenant_a, admin_of(tenant_a))
    edit = web.get(f"/m/quotes/{created['id']}/edit/")
    row = edit.context["child_tables"][0].rows[0]
    value = row.form.initial["taxes"]
    assert value == f"t:{catalogue.vat.pk}@18,{catalogue.reduced.pk}"
    assert dict(row.form.fields["taxes"].choices)[value] == "VAT 18 % + Reduced 10 %"
    data = _form_data(
        edit,
        [{"id": row.id, "description": "Work, more", "quantity": "1", "list_price": "100", "taxes": value}],
    )
    saved = web.post(f"/m/quotes/{created['id']}/edit/", data)
    assert saved.status_code == 302
    with tenant_context(tenant_a):
        line = Quote.objects.get(pk=created["id"]).lines.get()
        assert (line.description, [(t["tax"], t["percent"]) for t in line.taxes]) == (
            "Work, more",
            [(catalogue.vat.pk, "18"), (catalogue.reduced.pk, "10")],
        )


def test_a_forged_tax_value_is_an_error_on_the_cell_and_nothing_is_saved(client_for, tenant_a, admin_of, catalogue):
    from crm_apps.modules.quotes.models import Quote

    web = client_for(tenant_a, admin_of(tenant_a))
    new = web.get("/m/quotes/new/")
    data = _form_data(new, [{"description": "X", "quantity": "1", "list_price": "1", "taxes": "t:999999"}])
    data["subject"] = "Forged"
    page = web.post("/m/quotes/new/", data)
    assert page.status_code == 200
    assert "Choose an existing tax." in page.content.decode()
    with tenant_context(tenant_a):
        assert not Quote.objects.filter(subject="Forged").exists()
