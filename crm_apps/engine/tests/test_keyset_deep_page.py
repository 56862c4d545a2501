"""Keyset pages deep in a list (issue 13): the cursor's first sort key bounds the index scan, so a page
100,000 rows down costs what the first page costs, and walking the pages forward and back still
returns every record exactly once, ties on the sort key included."""

from __future__ import annotations

import datetime as dt
import json

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from crm_apps.engine import registry, selectors
from crm_apps.modules.contacts.models import Contact


def test_keyset_pages_walk_every_record_once_and_the_deep_page_starts_at_the_cursor(tenant_a, admin_of):
    contacts = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        now = timezone.now()
        # Given 3,000 contacts, every third sharing its created_at with its neighbours (ties on the first key)
        Contact.objects.bulk_create(
            [
                Contact(last_name=f"Keyset {i}", number=f"KS{i}", created_at=now - dt.timedelta(seconds=i // 3))
                for i in range(3_000)
            ],
            batch_size=1000,
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE contacts_contact")
        expected = list(
            contacts.model.objects.filter(deleted_at__isnull=True)
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)
        )

        # When the admin walks the list 70 rows at a time, forward and then back
        seen, cursor_value, pages = [], None, []
        while True:
            page = selectors.record_list(spec=contacts, actor=admin, default_view=False, cursor=cursor_value, limit=70)
            pages.append(page)
            seen += [r.pk for r in page.records]
            if page.next_cursor is None:
                break
            cursor_value = page.next_cursor
        back = selectors.record_list(
            spec=contacts, actor=admin, default_view=False, cursor=pages[-1].previous_cursor, limit=70
        )

        # and reads the plan of a page far below the newest rows
        with CaptureQueriesContext(connection) as captured:
            selectors.record_list(
                spec=contacts, actor=admin, default_view=False, cursor=pages[30].next_cursor, limit=25
            )
        sql = next(q["sql"] for q in captured.captured_queries if "LIMIT 26" in q["sql"])
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]

    # Then every record came exactly once, in order, and the previous page is the one before the last
    assert seen == expected
    assert [r.pk for r in back.records] == [r.pk for r in pages[-2].records]

    # and the deep page's index scan starts at the cursor instead of filtering the 2,170 rows above it
    def nodes(node):
        yield node
        for child in node.get("Plans", ()):
            yield from nodes(child)

    scans = [n for n in nodes(plan) if n.get("Relation Name") == "contacts_contact"]
    assert scans and all("created_at" in n.get("Index Cond", "") for n in scans), json.dumps(plan, indent=1)
    assert sum(n.get("Rows Removed by Filter", 0) for n in scans) < 25


def test_the_list_count_is_exact_when_cheap_and_the_estimate_when_it_would_read_the_table(
    tenant_a, admin_of, monkeypatch
):
    contacts = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        Contact.objects.bulk_create(
            [Contact(last_name=f"Counted {i}", number=f"CT{i}") for i in range(40)], batch_size=1000
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE contacts_contact")
        # Given a small table, the capped count is cheap: exact
        assert selectors.record_count(spec=contacts, actor=admin) == (40, True)
        # When reaching the rows would cost more than allowed, the planner's estimate, and no count
        monkeypatch.setattr(selectors, "EXACT_COUNT_MAX_COST", 0)
        with CaptureQueriesContext(connection) as captured:
            count, exact = selectors.record_count(spec=contacts, actor=admin)
    assert exact is False and 20 <= count <= 80
    assert len(captured.captured_queries) == 1 and captured.captured_queries[0]["sql"].startswith("EXPLAIN")


def test_the_list_page_counts_exactly_when_the_whole_result_fits_on_it(client_for, tenant_a, admin_of, monkeypatch):
    # Given an estimate far from the truth (the planner's guess for a narrow member can be), and a
    # result that fits on the first page
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        Contact.objects.bulk_create([Contact(last_name=f"Few {i}", number=f"FW{i}") for i in range(3)])
        total = Contact.objects.filter(deleted_at__isnull=True).count()
    assert total < selectors.PAGE_SIZE
    monkeypatch.setattr(selectors, "record_count", lambda **kwargs: (4000, False))

    # When the list is shown
    response = client_for(tenant_a, admin).get("/m/contacts/")

    # Then the count is the page's length, not "about 4,000"
    assert (response.context["count"], response.context["count_exact"]) == (total, True)
    assert f"{total} records" in response.content.decode()
    assert "about 4" not in response.content.decode()
