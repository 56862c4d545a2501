"""Finance settings: taxes, charges, company details, currencies (API, rights, isolation, selectors)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from crm_apps.audit.models import AuditEvent
from crm_apps.finance import selectors
from crm_apps.finance.currencies import default_currency, minor_units, quantum
from crm_apps.finance.models import CompanyDetails, CurrencyRate, Tax

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def admin_api(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def test_taxes_are_created_listed_changed_and_removed_with_exact_fields(admin_api, tenant_a):
    created = post(admin_api, "/api/v1/taxes/", {"name": "VAT", "percent": "20", "active": True})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["name"], body["percent"], body["active"]) == ("VAT", "20.000", True)

    changed = admin_api.patch(
        f"/api/v1/taxes/{body['id']}", {"percent": "19.5", "active": False}, content_type="application/json"
    )
    listed = admin_api.get("/api/v1/taxes/").json()["results"]
    active = admin_api.get("/api/v1/taxes/?active=true").json()["results"]
    deleted = admin_api.delete(f"/api/v1/taxes/{body['id']}")

    assert changed.status_code == 200
    assert (changed.json()["percent"], changed.json()["active"]) == ("19.500", False)
    assert [(t["name"], t["percent"], t["active"]) for t in listed] == [("VAT", "19.500", False)]
    assert active == []
    assert deleted.status_code == 204
    with tenant_context(tenant_a):
        assert not Tax.objects.exists()
        assert AuditEvent.objects.filter(module="finance").count() == 3


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "", "percent": "5"}, "name"),
        ({"name": "X", "percent": "101"}, "percent"),
        ({"name": "X", "percent": "-1"}, "percent"),
        ({"name": "X", "percent": "abc"}, "percent"),
        ({"name": "X", "percent": "1.2345"}, "percent"),
        ({"name": "X", "percent": "5", "colour": "red"}, "colour"),
    ],
)
def test_bad_taxes_are_400_with_the_field_and_write_nothing(admin_api, tenant_a, payload, field):
    response = post(admin_api, "/api/v1/taxes/", payload)

    assert response.status_code == 400
    assert field in response.json()
    with tenant_context(tenant_a):
        assert not Tax.objects.exists()


def test_tax_names_are_unique_whatever_the_case(admin_api):
    post(admin_api, "/api/v1/taxes/", {"name": "VAT", "percent": "20"})

    again = post(admin_api, "/api/v1/taxes/", {"name": "vat", "percent": "10"})

    assert again.status_code == 400
    assert again.json() == {"name": ["A tax with this name exists."]}


def test_members_read_taxes_but_only_settings_managers_write_them(client_for, tenant_a, member, admin_api):
    post(admin_api, "/api/v1/taxes/", {"name": "VAT", "percent": "20"})
    plain = client_for(tenant_a, member(tenant_a))

    read = plain.get("/api/v1/taxes/")
    write = post(plain, "/api/v1/taxes/", {"name": "Sales", "percent": "8"})
    anonymous = client_for(tenant_a).get("/api/v1/taxes/")

    assert read.status_code == 200 and [t["name"] for t in read.json()["results"]] == ["VAT"]
    assert write.status_code == 403
    assert anonymous.status_code in (401, 403)
    with tenant_context(tenant_a):
        assert list(Tax.objects.values_list("name", flat=True)) == ["VAT"]


def test_taxes_and_charges_of_one_workspace_are_invisible_to_another(client_for, tenant_b, admin_of, admin_api):
    tax = post(admin_api, "/api/v1/taxes/", {"name": "VAT", "percent": "20"}).json()
    charge = post(admin_api, "/api/v1/charges/", {"name": "Shipping", "value": "10", "taxes": [tax["id"]]}).json()
    other = client_for(tenant_b, admin_of(tenant_b))

    assert other.get("/api/v1/taxes/").json()["results"] == []
    assert other.get(f"/api/v1/taxes/{tax['id']}").status_code == 404
    assert (
        other.patch(f"/api/v1/taxes/{tax['id']}", {"percent": "1"}, content_type="application/json").status_code == 404
    )
    assert other.delete(f"/api/v1/charges/{charge['id']}").status_code == 404
    assert admin_api.get(f"/api/v1/taxes/{tax['id']}").json()["percent"] == "20.000"


def test_charges_carry_their_own_taxes(admin_api, tenant_a):
    vat = post(admin_api, "/api/v1/taxes/", {"name": "VAT", "percent": "20"}).json()

    created = post(
        admin_api,
        "/api/v1/charges/",
        {"name": "Shipping & Handling", "format": "flat", "value": "25", "taxes": [vat["id"]]},
    )
    bad_tax = post(admin_api, "/api/v1/charges/", {"name": "Other", "value": "1", "taxes": [99999]})
    bad_percent = post(admin_api, "/api/v1/charges/", {"name": "Fee", "format": "percent", "value": "150"})

    assert created.status_code == 201
    assert created.json()["value"] == "25.000"
    assert [t["name"] for t in created.json()["taxes"]] == ["VAT"]
    assert bad_tax.json() == {"taxes": ["Choose existing taxes."]}
    assert "value" in bad_percent.json()
    with tenant_context(tenant_a):
        charge = selectors.shipping_charge()
        assert charge is not None and [t.name for t in charge.taxes.all()] == ["VAT"]


def test_a_tax_used_by_a_product_can_be_deactivated_but_not_removed(admin_api, tenant_a):
    vat = post(admin_api, "/api/v1/taxes/", {"name": "VAT", "percent": "20"}).json()
    product = post(admin_api, "/api/v1/products/", {"name": "Chair", "unit_price": "10.00"}).json()
    admin_api.put(
        f"/api/v1/products/{product['id']}/taxes", {"taxes": [{"tax": vat["id"]}]}, content_type="application/json"
    )

    removed = admin_api.delete(f"/api/v1/taxes/{vat['id']}")

    assert removed.status_code == 400
    assert "tax" in removed.json()
    with tenant_context(tenant_a):
        assert Tax.objects.filter(pk=vat["id"]).exists()


def test_company_details_are_one_row_per_workspace(admin_api, client_for, tenant_a, tenant_b, admin_of):
    first = admin_api.patch(
        "/api/v1/company/",
        {"legal_name": "Northwind Traders Ltd", "tax_id": "GB123456789", "bank_account": "GB29NWBK60161331926819"},
        content_type="application/json",
    )
    second = admin_api.patch("/api/v1/company/", {"city": "London"}, content_type="application/json")
    bad = admin_api.patch(
        "/api/v1/company/", {"email": "not-an-email", "colour": "red"}, content_type="application/json"
    )
    other = client_for(tenant_b, admin_of(tenant_b)).get("/api/v1/company/").json()

    assert first.status_code == 200 and second.status_code == 200
    assert (second.json()["legal_name"], second.json()["city"]) == ("Northwind Traders Ltd", "London")
    assert bad.status_code == 400 and set(bad.json()) == {"colour"}
    assert other["legal_name"] == ""
    with tenant_context(tenant_a):
        assert CompanyDetails.objects.count() == 1
        assert selectors.company_details().tax_id == "GB123456789"


def test_company_logo_is_an_image_served_only_inside_its_workspace(
    admin_api, client_for, tenant_a, tenant_b, admin_of, member, media_root
):
    refused = admin_api.post("/api/v1/company/logo", {"file": SimpleUploadedFile("x.svg", b"<svg onload=alert(1)>")})
    stored = admin_api.post("/api/v1/company/logo", {"file": SimpleUploadedFile("logo.png", PNG)})
    plain = client_for(tenant_a, member(tenant_a))
    other = client_for(tenant_b, admin_of(tenant_b))

    served = plain.get("/settings/finance/company/logo")
    api_served = plain.get("/api/v1/company/logo")

    assert refused.status_code == 400 and "file" in refused.json()
    assert stored.status_code == 200 and stored.json()["logo"] == "/api/v1/company/logo"
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert b"".join(api_served.streaming_content) == PNG
    assert other.get("/settings/finance/company/logo").status_code == 404
    assert other.get("/api/v1/company/logo").status_code == 404
    assert client_for(tenant_a).get("/settings/finance/company/logo").status_code == 302


def test_currencies_keep_a_history_of_rates_and_convert(admin_api, tenant_a):
    base = post(admin_api, "/api/v1/currencies/", {"code": "EUR", "is_base": True})
    usd = post(admin_api, "/api/v1/currencies/", {"code": "USD", "rate": "0.9"})
    admin_api.patch("/api/v1/currencies/USD", {"rate": "0.92"}, content_type="application/json")
    bad = post(admin_api, "/api/v1/currencies/", {"code": "US", "rate": "x"})
    detail = admin_api.get("/api/v1/currencies/USD").json()

    assert base.status_code == 201 and usd.status_code == 201
    assert set(bad.json()) == {"code", "rate"}
    assert [h["rate"] for h in detail["history"]] == ["0.9200000000", "0.9000000000"]
    with tenant_context(tenant_a):
        assert selectors.base_currency() == "EUR"
        assert selectors.currency_rate("USD") == Decimal("0.92")
        assert selectors.currency_rate("EUR") == Decimal(1)
        assert selectors.convert(Decimal("100"), from_code="USD", to_code="EUR") == Decimal("92.00")
        assert selectors.convert(Decimal("92"), from_code="EUR", to_code="USD") == Decimal("100.00")
        with pytest.raises(selectors.UnknownCurrency):
            selectors.currency_rate("GBP")
        assert default_currency() == "EUR"
        assert CurrencyRate.objects.filter(code="USD").count() == 2
    assert admin_api.delete("/api/v1/currencies/EUR").status_code == 400


def test_minor_units_follow_iso_4217():
    assert (minor_units("EUR"), minor_units("JPY"), minor_units("KWD"), minor_units("XYZ")) == (2, 0, 3, 2)
    assert quantum("JPY") == Decimal("1") and quantum("KWD") == Decimal("0.001")


def test_finance_settings_pages_are_for_settings_managers(client_for, tenant_a, member, admin_of):
    admin = client_for(tenant_a, admin_of(tenant_a))
    plain = client_for(tenant_a, member(tenant_a))

    for page in ("taxes", "charges", "company", "currencies"):
        assert admin.get(f"/settings/finance/{page}/").status_code == 200, page
        assert plain.get(f"/settings/finance/{page}/").status_code == 403, page
    added = admin.post("/settings/finance/taxes/", {"name": "VAT", "percent": "20", "active": "1"})
    bad = admin.post("/settings/finance/taxes/", {"name": "Bad", "percent": "200"})
    with tenant_context(tenant_a):
        assert added.status_code == 302
        assert bad.status_code == 400
        assert list(Tax.objects.values_list("name", "percent")) == [("VAT", Decimal("20.000"))]
