"""Inventory benchmark (issue 19, "Performance"): invoices through the API.

    python -m bench.inventory            # 200,000 invoices
    python -m bench.inventory --quick    # 20,000, for development

Loads its own data into the tenant `bench-inv` (created on the first run, topped up later, never
deleted): 50 products with a tax class, then invoices inserted in bulk by SQL (`INSERT ... SELECT
generate_series`), then ANALYZE. It measures, through the API with a token, as the workspace admin:

- `invoice_create_p95_ms`: POST /api/v1/invoices/ with 50 product lines (prices and taxes from the
  catalogue, totals computed by the server); baseline: the same with 1 line;
- `pdf_p95_ms`: GET /api/v1/invoices/<id>/pdf of a 50-line invoice; baseline: a 1-line invoice;
- `invoice_list_p95_ms`: GET /api/v1/invoices/ (first page, newest first) at the loaded size; baseline:
  GET /api/v1/vendors/ (a handful of rows) in the same tenant.

Prints `key=value` lines; targets: create <= 150 ms, PDF <= 1.5 s, list <= 50 ms (p95).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bench.crm import PASSWORD, Timing, django_setup, log, timed

SLUG = "bench-inv"
FULL = 200_000
QUICK = 20_000
ADMIN = ("Inventory Bench", "bench-inventory@bench.example.com")


def prepare() -> tuple[Any, str, Any]:
    from django.core.management import call_command
    from django_tenants.utils import schema_context

    from billing.models import Plan, Subscription
    from billing.services import subscription_grant_complimentary
    from crm_apps.access.models import Member
    from tenants.models import Domain, Tenant, User
    from tenants.runtime import use_public_schema
    from tenants.services import tenant_provision

    call_command("migrate_schemas", "--shared", verbosity=0)
    use_public_schema()
    user = User.objects.filter(email=ADMIN[1]).first() or User.objects.create_user(ADMIN[1], PASSWORD, name=ADMIN[0])
    tenant = Tenant.objects.filter(schema_name=SLUG).first()
    if tenant is None:
        log(f"creating tenant '{SLUG}'")
        tenant = tenant_provision(slug=SLUG, name="Inventory Bench", admin=user)
    else:
        call_command("migrate_schemas", "--tenant", f"--schema={SLUG}", verbosity=0)
    use_public_schema()
    if not Subscription.objects.filter(tenant=tenant, plan__code="enterprise", complimentary=True).exists():
        subscription_grant_complimentary(
            operator=None, tenant=tenant, plan=Plan.objects.get(code="enterprise"), reason="Benchmark workspace"
        )
    host = str(Domain.objects.filter(tenant=tenant).order_by("-is_primary").values_list("domain", flat=True).first())
    with schema_context(SLUG):
        admin = Member.objects.select_related("user").get(user=user)
    return tenant, host, admin


def catalogue(admin: Any) -> list[str]:
    from crm_apps.finance.models import Tax
    from crm_apps.modules.products.models import Product, ProductTax

    vat, _created = Tax.objects.get_or_create(name="VAT", defaults={"percent": Decimal(20)})
    products = list(Product.objects.filter(number__startswith="PROB").order_by("number"))
    if len(products) < 50:
        Product.objects.filter(number__startswith="PROB").delete()
        products = Product.objects.bulk_create(
            [
                Product(
                    number=f"PROB{i}",
                    name=f"Bench product {i}",
                    unit_price=Decimal(10 + i),
                    currency="EUR",
                    owner=admin,
                )
                for i in range(50)
            ]
        )
        ProductTax.objects.bulk_create([ProductTax(product=p, tax=vat, percent=Decimal(20)) for p in products])
    return [str(p.pk) for p in products]


def load_invoices(admin: Any, target: int) -> None:
    """Invoices inserted by SQL up to `target` rows (headers only: the list does not read lines)."""
    from django.db import connection

    from crm_apps.modules.invoices.models import Invoice

    have = Invoice.objects.count()
    if have >= target:
        log(f"{have:,} invoices already loaded")
        return
    started = time.monotonic()
    columns, expressions, params = [], [], []
    special = {
        "id": "gen_random_uuid()",
        "number": "'INVB' || g",
        "subject": "'Bench invoice ' || g",
        "owner_id": "%s",
        "created_by_id": "%s",
        "updated_by_id": "%s",
        "created_at": "now() - (g || ' minutes')::interval",
        "updated_at": "now() - (g || ' minutes')::interval",
        "invoice_date": "current_date - (g %% 700)",
        "due_date": "current_date - (g %% 700) + 30",
        "status": "(ARRAY['Created','Approved','Sent','Paid'])[1 + g %% 4]",
        "currency": "'EUR'",
        "subtotal": "((g %% 997) * 10)::numeric",
        "tax_total": "((g %% 997) * 2)::numeric",
        "grand_total": "((g %% 997) * 12)::numeric",
        "balance": "((g %% 997) * 12)::numeric",
        "search_vector": "to_tsvector('simple', 'Bench invoice ' || g)",
    }
    for field in Invoice._meta.concrete_fields:
        columns.append(connection.ops.quote_name(str(field.column)))
        if field.column in special:
            expressions.append(special[field.column])
            if special[field.column] == "%s":
                params.append(admin.pk)
        elif field.has_default() or not field.null:
            # A blank text column without a default stores "" (Field.get_default), never NULL.
            expressions.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
        else:
            expressions.append("NULL")
    table = connection.ops.quote_name(Invoice._meta.db_table)
    step = 50_000
    offset = have
    while offset < target:
        upto = min(target, offset + step)
        with connection.cursor() as cursor:
            # Table and column names come from the model, values are parameters.
            sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(expressions)} FROM generate_series(%s, %s) AS g"  # noqa: S608, E501
            cursor.execute(sql, [*params, offset + 1, upto])
        offset = upto
        log(f"  {offset:,} invoices")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
    # The bulk rows are numbered INVB<n>; invoices created through the API keep the module's sequence.
    log(f"loaded in {time.monotonic() - started:.1f}s, ANALYZE done")


def run(args: argparse.Namespace) -> int:
    from django.test import Client
    from django_tenants.utils import schema_context

    from crm_apps.access.services import api_token_create
    from crm_apps.engine.api.views import TokenRateThrottle

    _tenant, host, admin = prepare()
    TokenRateThrottle.THROTTLE_RATES = {**TokenRateThrottle.THROTTLE_RATES, "api": "1000000/min"}
    with schema_context(SLUG):
        products = catalogue(admin)
        load_invoices(admin, QUICK if args.quick else FULL)
        _token, key = api_token_create(member=admin, name=f"bench-{int(time.time())}")
        client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Token {key}")

        def payload(lines: int) -> dict[str, Any]:
            return {
                "subject": "Bench order",
                "lines": [{"product": products[i % len(products)], "quantity": str(1 + i % 5)} for i in range(lines)],
                "discount_percent": "5",
                "shipping": "12.50",
            }

        def create(lines: int) -> Any:
            response = client.post("/api/v1/invoices/", payload(lines), content_type="application/json")
            if response.status_code != 201:
                raise SystemExit(f"create failed: {response.status_code} {response.content[:500]!r}")
            return response.json()

        big = create(50)
        small = create(1)
        # As a production worker does after loading (saas/wsgi.py): start-up objects leave the collector's
        # generations, so full collections during the timed requests scan only what requests create.
        import gc

        gc.collect()
        gc.freeze()
        results = {
            "invoice_create": Timing(
                "POST /api/v1/invoices/ (50 lines)", timed(lambda i: create(50), warmup=3, samples=args.samples)
            ),
            "invoice_create_baseline": Timing(
                "POST /api/v1/invoices/ (1 line)", timed(lambda i: create(1), warmup=3, samples=args.samples)
            ),
            "pdf": Timing(
                "GET .../pdf (50 lines)",
                timed(
                    lambda i: client.get(f"/api/v1/invoices/{big['id']}/pdf"),
                    warmup=2,
                    samples=max(10, args.samples // 2),
                ),
            ),
            "pdf_baseline": Timing(
                "GET .../pdf (1 line)",
                timed(
                    lambda i: client.get(f"/api/v1/invoices/{small['id']}/pdf"),
                    warmup=2,
                    samples=max(10, args.samples // 2),
                ),
            ),
            "invoice_list": Timing(
                "GET /api/v1/invoices/",
                timed(lambda i: client.get("/api/v1/invoices/"), warmup=5, samples=args.samples * 2),
            ),
            "invoice_list_baseline": Timing(
                "GET /api/v1/vendors/",
                timed(lambda i: client.get("/api/v1/vendors/"), warmup=5, samples=args.samples * 2),
            ),
        }
        from crm_apps.modules.invoices.models import Invoice

        count = Invoice.objects.count()
    log(f"invoices in the tenant: {count:,}")
    for timing in results.values():
        timing.show()
    print(f"invoices={count}")
    for key, timing in results.items():
        print(f"{key}_p95_ms={timing.p95:.1f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK:,} invoices instead of {FULL:,}")
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as static_root:
        django_setup(None if os.environ.get("STATIC_ROOT") else static_root)
        return run(args)


if __name__ == "__main__":
    sys.exit(main())
