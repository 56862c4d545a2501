"""Child tables on the edit form and the detail page (test-only orders module, childtest)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.engine.tests.childtest.models import SampleOrder, SampleOrderLine

pytestmark = pytest.mark.django_db
MODULE = "childtest_orders"
LINES = [
    {"description": "Widgets", "quantity": "3", "unit_price": "2.50"},
    {"description": "Gadgets", "quantity": "1", "unit_price": "10.00"},
]


@pytest.fixture
def web(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


@pytest.fixture
def order(tenant_a, admin_of):
    with tenant_context(tenant_a):
        return record_create(
            spec=registry.get(MODULE), actor=admin_of(tenant_a), data={"name": "Restock"}, children={"lines": LINES}
        )


def rows_post(rows, **extra):
    """The edit form's POST: formset-style names."""
    data = {"name": "Restock", "owner": "", "tags": "", "lines-TOTAL_FORMS": str(len(rows)), **extra}
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"lines-{index}-{name}"] = value
    return data


def lines_of(tenant, order_id):
    with tenant_context(tenant):
        return list(
            SampleOrderLine.objects.filter(order_id=order_id)
            .order_by("position")
            .values_list("description", "quantity")
        )


def test_the_new_form_has_a_labelled_row_table_with_one_blank_row(web):
    page = web.get(f"/m/{MODULE}/new/").content.decode()

    assert 'name="lines-TOTAL_FORMS" value="1"' in page
    assert 'name="lines-0-quantity"' in page
    assert (
        '<label class="visually-hidden" for="id_lines-0-quantity">Quantity (<span data-row-label>row 1</span>)</label>'
        in page
    )
    assert 'value="lines:add"' in page and 'value="lines:up:0"' in page
    assert "<template data-blank-row>" in page and 'name="lines-__prefix__-quantity"' in page


def test_creating_with_rows_saves_them_and_the_detail_shows_rows_and_totals(web, tenant_a):
    response = web.post(
        f"/m/{MODULE}/new/",
        rows_post([*LINES, {"description": "", "quantity": "", "unit_price": ""}]),  # a blank row is skipped
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(tenant_a):
        saved = SampleOrder.objects.get(name="Restock")
    assert lines_of(tenant_a, saved.pk) == [("Widgets", Decimal("3.000")), ("Gadgets", Decimal("1.000"))]
    detail = web.get(response["Location"]).content.decode()
    assert "<h2" in detail and ">Lines</h2>" in detail
    assert re.search(r"<td>Widgets</td><td></td><td>3[.,]000</td><td>2[.,]50</td><td>7[.,]50</td>", detail)
    assert re.search(r"<dt>Subtotal</dt><dd>17[.,]50</dd>", detail)


def test_editing_updates_removes_and_reorders_rows(web, tenant_a, order):
    with tenant_context(tenant_a):
        widgets, gadgets = SampleOrderLine.objects.filter(order=order).order_by("position")

    response = web.post(
        f"/m/{MODULE}/{order.pk}/edit/",
        rows_post(
            [
                {"id": str(gadgets.pk), "description": "Gadgets", "quantity": "2", "unit_price": "10.00"},
                {"id": str(widgets.pk), "description": "Widgets", "quantity": "3", "unit_price": "2.50", "DELETE": "1"},
                {"description": "Bolts", "quantity": "5", "unit_price": "1"},
            ],
            version="1",
        ),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert lines_of(tenant_a, order.pk) == [("Gadgets", Decimal("2.000")), ("Bolts", Decimal("5.000"))]
    with tenant_context(tenant_a):
        stored = SampleOrder.objects.get(pk=order.pk)
    assert (stored.subtotal, stored.version) == (Decimal("25.00"), 2)
    detail = web.get(f"/m/{MODULE}/{order.pk}/").content.decode()
    assert "2 rows" in detail  # the timeline names the change of the rows


def test_a_bad_row_shows_its_error_on_the_cell_and_saves_nothing(web, tenant_a, order):
    with tenant_context(tenant_a):
        widgets, gadgets = SampleOrderLine.objects.filter(order=order).order_by("position")

    response = web.post(
        f"/m/{MODULE}/{order.pk}/edit/",
        rows_post(
            [
                {"id": str(widgets.pk), "description": "Widgets", "quantity": "lots", "unit_price": "2.50"},
                {"id": str(gadgets.pk), "description": "forbidden", "quantity": "1", "unit_price": "1"},
            ],
            version="1",
        ),
    )
    page = response.content.decode()

    assert response.status_code == 200
    assert 'aria-invalid="true" aria-describedby="lines-0-quantity-error"' in page
    assert '<div class="errorlist" id="lines-0-quantity-error">“lots” value must be a decimal number.</div>' in page
    assert "Row 2: This line may not be sold." in page
    assert 'value="lots"' in page  # what was typed comes back
    assert lines_of(tenant_a, order.pk) == [("Widgets", Decimal("3.000")), ("Gadgets", Decimal("1.000"))]


def test_js_free_row_buttons_rearrange_the_form_without_saving(web, tenant_a, order):
    with tenant_context(tenant_a):
        widgets, gadgets = SampleOrderLine.objects.filter(order=order).order_by("position")
    rows = [
        {"id": str(widgets.pk), "description": "Widgets", "quantity": "3", "unit_price": "2.50"},
        {"id": str(gadgets.pk), "description": "Gadgets", "quantity": "1", "unit_price": "10.00"},
    ]

    added = web.post(f"/m/{MODULE}/{order.pk}/edit/", rows_post(rows, version="1", row_action="lines:add"))
    moved = web.post(f"/m/{MODULE}/{order.pk}/edit/", rows_post(rows, version="1", row_action="lines:up:1"))
    moved_page = moved.content.decode()

    assert added.status_code == 200
    assert 'name="lines-TOTAL_FORMS" value="3"' in added.content.decode()
    assert moved_page.index('value="Gadgets"') < moved_page.index('value="Widgets"')
    assert f'name="lines-0-id" value="{gadgets.pk}"' in moved_page
    assert lines_of(tenant_a, order.pk) == [("Widgets", Decimal("3.000")), ("Gadgets", Decimal("1.000"))]


def test_a_stale_form_is_a_conflict_for_a_rows_only_change(web, tenant_a, order):
    response = web.post(
        f"/m/{MODULE}/{order.pk}/edit/",
        rows_post([{"description": "Only", "quantity": "1", "unit_price": "1"}], version="0"),
    )

    assert response.status_code == 200
    assert "Someone else changed this record" in response.content.decode()
    assert len(lines_of(tenant_a, order.pk)) == 2


def test_a_row_pointing_at_a_record_the_member_cannot_see_shows_a_dash(client_for, tenant_a, admin_of, member):
    from crm_apps.access.services import sharing_default_set

    with tenant_context(tenant_a):
        admin = admin_of(tenant_a)
        sharing_default_set(actor=admin, module="organizations", access="private")
        secret = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Secret Supplier"})
        order = record_create(
            spec=registry.get(MODULE),
            actor=admin,
            data={"name": "Shared"},
            children={"lines": [{**LINES[0], "organization": str(secret.pk)}]},
        )
    outsider = member(tenant_a)

    admin_page = client_for(tenant_a, admin_of(tenant_a)).get(f"/m/{MODULE}/{order.pk}/").content.decode()
    outsider_page = client_for(tenant_a, outsider).get(f"/m/{MODULE}/{order.pk}/").content.decode()

    assert "Secret Supplier" in admin_page
    assert "Secret Supplier" not in outsider_page
    assert "<td>Widgets</td><td>—</td>" in outsider_page


def _order_with_referencing_rows(tenant, admin, count):
    org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": f"Supplier {count}"})
    rows = [{**LINES[0], "organization": str(org.pk)} for _ in range(count)]
    return record_create(spec=registry.get(MODULE), actor=admin, data={"name": "Many"}, children={"lines": rows})


def test_the_edit_form_costs_the_same_queries_for_two_or_twenty_referencing_rows(web, tenant_a, admin_of):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conftest import statements

    # Given two orders whose rows all point at an organisation: 2 rows and 20 rows
    with tenant_context(tenant_a):
        admin = admin_of(tenant_a)
        small = _order_with_referencing_rows(tenant_a, admin, 2)
        big = _order_with_referencing_rows(tenant_a, admin, 20)
    web.get(f"/m/{MODULE}/{small.pk}/edit/")  # warm the per-process memos

    # When each edit form is rendered
    counts = []
    for order in (small, big):
        with CaptureQueriesContext(connection) as captured:
            page = web.get(f"/m/{MODULE}/{order.pk}/edit/")
        assert page.status_code == 200
        counts.append(len(statements(captured)))

    # Then the pickers' titles are looked up once per reference field, not once per row
    assert counts[0] == counts[1], counts
    assert "Supplier 20" in page.content.decode()
