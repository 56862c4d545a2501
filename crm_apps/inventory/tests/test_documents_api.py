"""Documents through the API: totals computed by the server (property-based against the reference
implementation), line defaults from the catalogue, addresses, terms, exchange rates, bad input."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings

from crm_apps.inventory.tests.conftest import post
from crm_apps.inventory.tests.reference import reference_totals
from crm_apps.inventory.tests.strategies import document

pytestmark = pytest.mark.django_db
DOCUMENTS = ["quotes", "sales-orders", "purchase-orders", "invoices"]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=document(max_lines=5))
def test_api_totals_equal_the_reference(api, catalogue, tenant_a, doc):
    from crm_apps.finance.models import Tax

    with tenant_context(tenant_a):
        rates = sorted({r for line in doc["lines"] for r in line["taxes"]} | set(doc["taxes"]))
        taxes = {r: Tax.objects.get_or_create(name=f"T{r}", defaults={"percent": Decimal(r)})[0].pk for r in rates}
    payload = {
        "subject": "Property",
        "currency": doc["currency"],
        "tax_mode": doc["tax_mode"],
        "shipping": doc["shipping"],
        "shipping_tax_percent": doc["shipping_tax"],
        "adjustment": doc["adjustment"],
        "lines": [
            {
                "product": None,
                "description": f"Line {i}",
                "quantity": line["quantity"],
                "list_price": line["list_price"],
                **({"discount_percent": line["discount_percent"]} if "discount_percent" in line else {}),
                **({"discount_amount": line["discount_amount"]} if "discount_amount" in line else {}),
                "taxes": [{"tax": taxes[r], "percent": r} for r in dict.fromkeys(line["taxes"])],
            }
            for i, line in enumerate(doc["lines"])
        ],
        "taxes": [{"tax": taxes[r], "percent": r} for r in dict.fromkeys(doc["taxes"])],
    }
    for key in ("discount_percent", "discount_amount"):
        if key in doc:
            payload[key] = doc[key]
    # The reference applies each distinct tax once per line, as the API does.
    expected = reference_totals(
        {
            **doc,
            "lines": [{**line, "taxes": list(dict.fromkeys(line["taxes"]))} for line in doc["lines"]],
            "taxes": list(dict.fromkeys(doc["taxes"])),
        }
    )
    response = post(api, "/api/v1/invoices/", payload)
    assert response.status_code == 201, response.json()
    body = response.json()
    for name in ("subtotal", "discount_total", "tax_total", "grand_total"):
        assert isinstance(body[name], str)
        assert Fraction(body[name]) == expected[name], (name, body[name], expected[name])


def test_lines_take_price_and_taxes_from_the_catalogue(api, catalogue):
    response = post(
        api,
        "/api/v1/quotes/",
        {
            "subject": "Catalogue",
            "organization": str(catalogue.organization.pk),
            "lines": [
                {"product": str(catalogue.hammock.pk), "quantity": "2"},
                {"service": str(catalogue.install.pk), "quantity": "1", "discount_percent": "10"},
                {"product": str(catalogue.rope.pk), "quantity": "3", "list_price": "10.00", "taxes": []},
            ],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    lines = body["lines"]
    # Row values are served at the column's scale (three places); the document's totals at the minor unit.
    assert [Decimal(line["net_amount"]) for line in lines] == [Decimal("240"), Decimal("45"), Decimal("30")]
    assert Decimal(lines[0]["list_price"]) == Decimal("120")
    assert lines[0]["taxes"] == [{"tax": catalogue.vat.pk, "percent": "20", "amount": "48.00"}]
    assert lines[2]["taxes"] == []
    assert body["subtotal"] == "315.00"
    assert body["tax_total"] == "57.00"  # 48 + 9
    assert body["grand_total"] == "372.00"
    # Addresses from the organisation, currency from the workspace default.
    assert body["billing_street"] == "1 Main St"
    assert body["shipping_city"] == "Shelbyville"
    assert body["status"] == "Created"


def test_totals_are_never_taken_from_the_client(api, catalogue):
    response = post(
        api,
        "/api/v1/invoices/",
        {
            "subject": "Sneaky",
            "grand_total": "1.00",
            "lines": [{"description": "x", "quantity": "1", "list_price": "5"}],
        },
    )
    assert response.status_code == 400
    assert "grand_total" in response.json()


def test_header_change_recomputes_totals(api, catalogue):
    created = post(
        api, "/api/v1/quotes/", {"subject": "D", "lines": [{"description": "x", "quantity": "4", "list_price": "25"}]}
    ).json()
    assert created["grand_total"] == "100.00"
    patched = api.patch(
        f"/api/v1/quotes/{created['id']}/",
        {"discount_percent": "10", "shipping": "5", "version": created["version"]},
        content_type="application/json",
    )
    assert patched.status_code == 200, patched.json()
    assert patched.json()["discount_total"] == "10.00"
    assert patched.json()["grand_total"] == "95.00"


def test_bad_rows_are_400_naming_the_row(api, catalogue):
    response = post(
        api,
        "/api/v1/sales-orders/",
        {
            "subject": "Bad",
            "lines": [
                {"description": "ok", "quantity": "1", "list_price": "1"},
                {"description": "bad", "quantity": "-1", "list_price": "1"},
                {"description": "tax", "quantity": "1", "list_price": "1", "taxes": "VAT"},
            ],
        },
    )
    assert response.status_code == 400
    errors = response.json()["lines"]
    assert errors[0] == {}
    assert "quantity" in errors[1]
    assert "taxes" in errors[2]


def test_unknown_tax_is_refused(api, catalogue):
    response = post(
        api,
        "/api/v1/invoices/",
        {
            "subject": "Tax",
            "lines": [{"description": "x", "quantity": "1", "list_price": "1", "taxes": [{"tax": 999999}]}],
        },
    )
    assert response.status_code == 400
    assert "taxes" in response.json()["lines"][0]


def test_exchange_rate_is_stored_on_creation(api, catalogue, tenant_a):
    from crm_apps.engine.models import Currency

    with tenant_context(tenant_a):
        Currency.objects.create(code="EUR", rate=1, is_base=True)
        Currency.objects.create(code="USD", rate=Decimal("0.9"))
    created = post(api, "/api/v1/invoices/", {"subject": "USD", "currency": "USD", "lines": []}).json()
    default = post(api, "/api/v1/invoices/", {"subject": "Base", "lines": []}).json()
    with tenant_context(tenant_a):
        Currency.objects.filter(code="USD").update(rate=Decimal("0.8"))
    again = api.get(f"/api/v1/invoices/{created['id']}/").json()
    assert Decimal(created["exchange_rate"]) == Decimal("0.9")
    assert Decimal(again["exchange_rate"]) == Decimal("0.9")
    assert default["currency"] == "EUR"


def test_default_terms_come_from_the_module_settings(api, catalogue, tenant_a, admin_of):
    from crm_apps.inventory.settings import document_settings_update

    with tenant_context(tenant_a):
        document_settings_update(actor=admin_of(tenant_a), module="quotes", terms_conditions="Valid 30 days.")
    created = post(api, "/api/v1/quotes/", {"subject": "Terms"}).json()
    own = post(api, "/api/v1/quotes/", {"subject": "Own", "terms_conditions": "Special."}).json()
    assert created["terms_conditions"] == "Valid 30 days."
    assert own["terms_conditions"] == "Special."


@pytest.mark.parametrize("module", DOCUMENTS)
def test_every_document_serves_lines_and_group_taxes(api, catalogue, module):
    response = post(
        api,
        f"/api/v1/{module}/",
        {
            "subject": "Group",
            "tax_mode": "group",
            "discount_amount": "10",
            "lines": [{"description": "A", "quantity": "2", "list_price": "55"}],
            "taxes": [{"tax": catalogue.vat.pk, "percent": "20"}, {"tax": catalogue.reduced.pk}],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"].startswith(
        {"quotes": "QUO", "sales-orders": "SO", "purchase-orders": "PO", "invoices": "INV"}[module]
    )
    assert [Decimal(t["amount"]) for t in body["taxes"]] == [Decimal("20.00"), Decimal("10.00")]
    assert body["taxes"][1]["percent"] == "10.000"
    assert body["grand_total"] == "130.00"


def test_a_price_book_in_the_documents_currency_sets_the_list_price(api, catalogue, tenant_a, admin_of):
    from crm_apps.modules.pricebooks.models import PriceBook, PriceBookEntry

    with tenant_context(tenant_a):
        book = PriceBook.objects.create(number="PB-T1", name="Trade", currency="EUR", owner=admin_of(tenant_a))
        PriceBookEntry.objects.create(price_book=book, product=catalogue.hammock, list_price=Decimal("99.50"))
        other = PriceBook.objects.create(number="PB-T2", name="Dollars", currency="USD", owner=admin_of(tenant_a))
        PriceBookEntry.objects.create(price_book=other, product=catalogue.hammock, list_price=Decimal("10.00"))
    trade = post(
        api,
        "/api/v1/quotes/",
        {
            "subject": "Trade",
            "currency": "EUR",
            "price_book": str(book.pk),
            "lines": [{"product": str(catalogue.hammock.pk)}],
        },
    ).json()
    mismatch = post(
        api,
        "/api/v1/quotes/",
        {
            "subject": "Other",
            "currency": "EUR",
            "price_book": str(other.pk),
            "lines": [{"product": str(catalogue.hammock.pk)}],
        },
    ).json()
    assert Decimal(trade["lines"][0]["list_price"]) == Decimal("99.50")
    assert Decimal(mismatch["lines"][0]["list_price"]) == Decimal("120.00")  # a book in another currency is not used


def test_creating_an_invoice_costs_the_same_queries_for_two_or_fifty_product_lines(api, catalogue):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(count):
        lines = [{"product": str(catalogue.hammock.pk), "quantity": "1"} for _ in range(count)]
        with CaptureQueriesContext(connection) as ctx:
            assert post(api, "/api/v1/invoices/", {"subject": "Lines", "lines": lines}).status_code == 201
        return len(ctx.captured_queries)

    queries(1)  # warm caches
    assert queries(2) == queries(50)
