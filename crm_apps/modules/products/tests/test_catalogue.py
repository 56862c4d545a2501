"""Products, services and price books beyond CRUD (the contract suite covers that): tax classes, bundles,
pictures, list prices, "Add to price book", the list-price selector; rights, field rules and isolation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from crm_apps.access.services import profile_set_fields, sharing_default_set
from crm_apps.engine.models import Currency, TimelineEntry
from crm_apps.finance.models import Tax
from crm_apps.modules.pricebooks.models import PriceBook, PriceBookEntry
from crm_apps.modules.pricebooks.selectors import PriceBookCurrencyMismatch, list_price
from crm_apps.modules.products.models import Product, ProductBundleItem, ProductImage, ProductTax

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def api(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def json(client, method, url, data):
    return getattr(client, method)(url, data, content_type="application/json")


def product(api, **data):
    response = json(api, "post", "/api/v1/products/", {"name": "Chair", "unit_price": "100.00", **data})
    assert response.status_code == 201, response.json()
    return response.json()


def tax(api, name="VAT", percent="20"):
    return json(api, "post", "/api/v1/taxes/", {"name": name, "percent": percent}).json()


def test_tax_classes_are_set_whole_with_the_tax_percent_by_default_and_logged(api, tenant_a):
    vat, reduced = tax(api), tax(api, "Reduced", "10")
    chair = product(api)

    saved = json(
        api,
        "put",
        f"/api/v1/products/{chair['id']}/taxes",
        {"taxes": [{"tax": vat["id"]}, {"tax": reduced["id"], "percent": "7.5"}]},
    )
    duplicate = json(
        api, "put", f"/api/v1/products/{chair['id']}/taxes", {"taxes": [{"tax": vat["id"]}, {"tax": vat["id"]}]}
    )
    unknown = json(
        api, "put", f"/api/v1/products/{chair['id']}/taxes", {"taxes": [{"tax": vat["id"]}, {"tax": 999999}]}
    )
    too_high = json(
        api, "put", f"/api/v1/products/{chair['id']}/taxes", {"taxes": [{"tax": vat["id"], "percent": "120"}]}
    )

    assert saved.status_code == 200
    assert [(t["name"], t["percent"]) for t in saved.json()["taxes"]] == [("VAT", "20.000"), ("Reduced", "7.500")]
    assert duplicate.json() == {"taxes.1.tax": ["This tax is already in the list."]}
    assert unknown.json() == {"taxes.1.tax": ["Choose an existing tax."]}
    assert set(too_high.json()) == {"taxes.0.percent"}
    assert api.get(f"/api/v1/products/{chair['id']}/taxes").json() == saved.json()
    assert api.get(f"/api/v1/products/{chair['id']}/").json()["version"] == chair["version"] + 1
    with tenant_context(tenant_a):
        entry = TimelineEntry.objects.filter(record_id=chair["id"], kind="updated").get()
        assert [row["name"] for row in entry.data["changes"]["taxes"][1]] == ["VAT", "Reduced"]


def test_members_who_may_not_edit_the_product_or_its_price_cannot_change_its_taxes(
    api, client_for, tenant_a, admin_of, member
):
    vat = tax(api)
    chair = product(api)
    reader = member(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin_of(tenant_a), module="products", access="public_read")
    refused = json(
        client_for(tenant_a, reader), "put", f"/api/v1/products/{chair['id']}/taxes", {"taxes": [{"tax": vat["id"]}]}
    )

    pricer = member(tenant_a)
    own = product(client_for(tenant_a, pricer), name="Own desk")
    with tenant_context(tenant_a):
        profile = pricer.role.profiles.first()
        profile_set_fields(
            actor=admin_of(tenant_a), profile=profile, module="products", access={"unit_price": "readonly"}
        )
    locked = json(
        client_for(tenant_a, pricer), "put", f"/api/v1/products/{own['id']}/taxes", {"taxes": [{"tax": vat["id"]}]}
    )

    assert refused.status_code == 403
    assert locked.status_code == 403
    with tenant_context(tenant_a):
        assert not ProductTax.objects.exists()


def test_bundles_hold_visible_products_once_and_never_themselves(api, client_for, tenant_b, admin_of, tenant_a):
    kit, chair, desk = product(api, name="Kit"), product(api, name="Chair"), product(api, name="Desk")
    foreign = product(client_for(tenant_b, admin_of(tenant_b)), name="Their chair")
    url = f"/api/v1/products/{kit['id']}/bundle"

    saved = json(
        api, "put", url, {"bundle_items": [{"product": chair["id"], "quantity": "2"}, {"product": desk["id"]}]}
    )
    itself = json(api, "put", url, {"bundle_items": [{"product": kit["id"]}]})
    twice = json(api, "put", url, {"bundle_items": [{"product": chair["id"]}, {"product": chair["id"]}]})
    other_tenant = json(api, "put", url, {"bundle_items": [{"product": foreign["id"]}]})
    cycle = json(api, "put", f"/api/v1/products/{chair['id']}/bundle", {"bundle_items": [{"product": kit["id"]}]})
    zero = json(api, "put", url, {"bundle_items": [{"product": chair["id"], "quantity": "0"}]})

    assert saved.status_code == 200
    assert [(i["name"], i["quantity"]) for i in saved.json()["bundle_items"]] == [("Chair", "2.000"), ("Desk", "1.000")]
    assert itself.json() == {"bundle_items.0.product": ["A bundle cannot contain itself."]}
    assert twice.json() == {"bundle_items.1.product": ["This product is already in the bundle."]}
    assert other_tenant.json() == {"bundle_items.0.product": ["Choose an existing record."]}
    assert cycle.json() == {"bundle_items": ["A bundle cannot contain itself through another bundle."]}
    assert set(zero.json()) == {"bundle_items.0.quantity"}
    with tenant_context(tenant_a):
        assert ProductBundleItem.objects.filter(bundle_id=kit["id"]).count() == 2
        assert not ProductBundleItem.objects.filter(bundle_id=chair["id"]).exists()


def test_pictures_are_checked_images_served_to_those_who_see_the_product(
    api, client_for, tenant_a, tenant_b, admin_of, member, media_root
):
    chair = product(api)
    url = f"/api/v1/products/{chair['id']}/images"

    html = api.post(url, {"file": SimpleUploadedFile("x.html", b"<html><script>alert(1)</script>")})
    added = api.post(url, {"file": SimpleUploadedFile("../../chair.png", PNG)})
    image_url = added.json()["url"]
    page_url = f"/m/products/{chair['id']}/images/{added.json()['id']}"

    assert html.status_code == 400 and "file" in html.json()
    assert added.status_code == 201 and added.json()["file_name"] == "chair.png"
    served = api.get(image_url)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == PNG
    assert api.get(page_url).status_code == 200
    other = client_for(tenant_b, admin_of(tenant_b))
    assert other.get(image_url).status_code == 404
    assert other.get(page_url).status_code == 404
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin_of(tenant_a), module="products", access="private")
    outsider = client_for(tenant_a, member(tenant_a))
    assert outsider.get(image_url).status_code == 404
    assert outsider.get(page_url).status_code == 404
    deleted = api.delete(image_url)
    assert deleted.status_code == 204
    with tenant_context(tenant_a):
        assert not ProductImage.objects.exists()


def test_price_books_list_prices_replaced_whole_and_read_back(api, client_for, tenant_b, admin_of, tenant_a):
    chair = product(api)
    service = json(api, "post", "/api/v1/services/", {"name": "Install", "unit_price": "50.00"}).json()
    book = json(api, "post", "/api/v1/price-books/", {"name": "Wholesale", "currency": "USD"}).json()
    url = f"/api/v1/price-books/{book['id']}/prices"

    saved = json(
        api,
        "put",
        url,
        {"prices": [{"product": chair["id"], "list_price": "90.00"}, {"service": service["id"], "list_price": "45"}]},
    )
    twice = json(
        api,
        "put",
        url,
        {"prices": [{"product": chair["id"], "list_price": "1"}, {"product": chair["id"], "list_price": "2"}]},
    )
    both = json(api, "put", url, {"prices": [{"product": chair["id"], "service": service["id"], "list_price": "1"}]})
    negative = json(api, "put", url, {"prices": [{"product": chair["id"], "list_price": "-1"}]})
    other = client_for(tenant_b, admin_of(tenant_b))

    assert saved.status_code == 200
    assert [(p["name"], p["list_price"]) for p in saved.json()["prices"]] == [("Chair", "90.00"), ("Install", "45.00")]
    assert twice.json() == {"prices.1.product": ["This item already has a price in this book."]}
    assert both.json() == {"prices.0": ["Choose a product or a service (one of them)."]}
    assert set(negative.json()) == {"prices.0.list_price"}
    assert other.get(url).status_code == 404
    assert json(other, "put", url, {"prices": []}).status_code == 404
    assert api.get(url).json()["prices"] == saved.json()["prices"]
    assert api.get(f"/api/v1/products/{chair['id']}/price-books").json()["results"] == [
        {"price_book": book["id"], "name": "Wholesale", "currency": "USD", "list_price": "90.00"}
    ]


def test_list_price_comes_from_the_book_or_the_converted_unit_price(api, tenant_a):
    chair = product(api, unit_price="100.00", currency="USD")
    book = json(api, "post", "/api/v1/price-books/", {"name": "EU", "currency": "EUR"}).json()
    with tenant_context(tenant_a):
        Currency.objects.create(code="EUR", rate=1, is_base=True)
        Currency.objects.create(code="USD", rate=Decimal("0.9"))
        item = Product.objects.get(pk=chair["id"])
        eu = PriceBook.objects.get(pk=book["id"])
        assert list_price(item, eu) is None
        PriceBookEntry.objects.create(price_book=eu, product=item, list_price=Decimal("80.00"))
        assert list_price(item, eu, "EUR") == Decimal("80.00")
        with pytest.raises(PriceBookCurrencyMismatch):
            list_price(item, eu, "USD")
        assert list_price(item) == Decimal("100.00")
        assert list_price(item, None, "EUR") == Decimal("90.00")


def test_add_to_price_book_takes_the_filtered_list_at_adjusted_converted_prices(api, tenant_a):
    with tenant_context(tenant_a):
        Currency.objects.create(code="EUR", rate=1, is_base=True)
        Currency.objects.create(code="USD", rate=Decimal("0.5"))
    product(api, name="Chair", category="Hardware", unit_price="100.00", currency="EUR")
    product(api, name="Desk", category="Hardware", unit_price="10.00", currency="USD")
    product(api, name="Licence", category="Software", unit_price="30.00", currency="EUR")
    book = json(api, "post", "/api/v1/price-books/", {"name": "Wholesale", "currency": "EUR"}).json()

    preview = api.get("/m/products/add-to-price-book/?category=Hardware")
    added = api.post(
        "/m/products/add-to-price-book/", {"category": "Hardware", "price_book": book["id"], "adjust_percent": "-10"}
    )
    again = api.post("/m/products/add-to-price-book/", {"category": "Hardware", "price_book": book["id"]})
    bad = api.post(
        "/m/products/add-to-price-book/", {"category": "Hardware", "price_book": book["id"], "adjust_percent": "x"}
    )

    assert preview.status_code == 200 and preview.context["count"] == 2
    assert added.status_code == 302
    assert again.status_code == 302
    assert bad.status_code == 400
    prices = api.get(f"/api/v1/price-books/{book['id']}/prices").json()["prices"]
    assert [(p["name"], p["list_price"]) for p in prices] == [("Chair", "90.00"), ("Desk", "4.50")]


def test_catalogue_sample_data_makes_taxed_products_a_bundle_and_price_books(tenant_a, admin_of):
    import datetime as dt
    import random

    from crm_apps.engine.sample_data import SampleContext
    from crm_apps.modules.pricebooks.sample import price_books_sample
    from crm_apps.modules.products.sample import products_sample
    from crm_apps.modules.services.sample import services_sample

    with tenant_context(tenant_a):
        admin = admin_of(tenant_a)
        ctx = SampleContext(admin=admin, owners=[admin], rng=random.Random(1), today=dt.date(2027, 1, 15))
        products_sample(ctx)
        services_sample(ctx)
        price_books_sample(ctx)
        assert list(Tax.objects.values_list("name", "percent")) == [
            ("VAT", Decimal("20.000")),
            ("Reduced VAT", Decimal("10.000")),
        ]
        assert Product.objects.count() == 7
        assert ProductTax.objects.count() == 7
        assert ProductBundleItem.objects.count() == 3
        assert any(p.below_reorder_level for p in Product.objects.all())
        wholesale = PriceBook.objects.get(name="Wholesale")
        chair = Product.objects.get(code="CHAIR-ERG")
        assert wholesale.prices.get(product=chair).list_price == Decimal("211.65")  # 249.00 - 15 %
