"""Keyset pages deep in a list (issue 13): the cursor's first sort key bounds the index scan, so a page
100,000 rows down costs what the first page costs, and walking the pages forward and back still
returns every record exactly once, ties on the sort key included."""

from __future__ import annotations

import datetime as dt
import json

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from crm_apps.engine import registry, selectors
from crm_apps.modules.contacts.models import Contact
from saas.cache_versions import remembered_local_clear


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
        # the estimate above was remembered, in Redis and in the process (test_the_planner_estimate_is_remembered...)
        cache.clear()
        remembered_local_clear()
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


def test_an_estimated_count_can_be_made_exact_on_demand(client_for, tenant_a, admin_of, monkeypatch):
    # Given 40 contacts, and counting judged too dear (a search matching ~1,200 of 1M: issue 25)
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        Contact.objects.bulk_create([Contact(last_name=f"Ondemand {i}", number=f"OD{i}") for i in range(40)])
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE contacts_contact")
        total = Contact.objects.filter(deleted_at__isnull=True).count()
    monkeypatch.setattr(selectors, "EXACT_COUNT_MAX_COST", 0)
    client = client_for(tenant_a, admin)

    # When the list is shown (10 a page, so the result does not fit on it)
    estimated = client.get("/m/contacts/", {"limit": 10})
    page = estimated.content.decode()

    # Then it shows the estimate and a link that asks for the exact count, keeping the page's parameters
    assert estimated.context["count_exact"] is False
    assert "about " in page and "Count exactly" in page
    assert estimated.context["count_exact_url"] == "?limit=10&count=exact"

    # When the member follows it: the exact count, in one counting statement (no estimate first)
    with CaptureQueriesContext(connection) as captured:
        counted = client.get("/m/contacts/" + estimated.context["count_exact_url"])
    assert (counted.context["count"], counted.context["count_exact"]) == (total, True)
    assert f"{total} records" in counted.content.decode()
    assert "Count exactly" not in counted.content.decode()
    assert not [q for q in captured.captured_queries if q["sql"].startswith("EXPLAIN")]

    # And past the cap it says so, without a count it does not have
    monkeypatch.setattr(selectors, "EXACT_COUNT_LIMIT", 5)
    capped = client.get("/m/contacts/", {"limit": 10, "count": "exact"})
    assert capped.context["count_exact"] is False and capped.context["count_past_cap"] == 5
    assert "more than 5 records" in capped.content.decode()


def test_an_exact_count_on_demand_counts_only_what_the_member_sees(tenant_a, tenant_b, admin_of, member):
    from crm_apps.access.services import sharing_default_set

    contacts = registry.get("contacts")
    with schema_context(tenant_b.schema_name):
        Contact.objects.bulk_create([Contact(last_name=f"Other {i}", number=f"OT{i}") for i in range(7)])
    seller = member(tenant_a)
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=False)
        Contact.objects.bulk_create(
            [Contact(last_name=f"Mine {i}", number=f"MI{i}", owner=seller if i < 2 else admin) for i in range(5)]
        )
        total = Contact.objects.filter(deleted_at__isnull=True).count()
        # Another workspace's contacts are never counted; a private member counts only their own
        assert selectors.record_count(spec=contacts, actor=admin, exact=True) == (total, True)
        assert selectors.record_count(spec=contacts, actor=admin, search="Other", exact=True) == (0, True)
        assert selectors.record_count(spec=contacts, actor=seller, exact=True) == (2, True)


def walk_pages(spec, actor, *, limit, search_first, ordering=None, search="needle"):
    """Every page of a list search, forward to the end then back to the start: (ids forward, ids backward, the
    statements that read the module's table on the way forward; the member's grants are read once, by
    whichever walk comes first)."""
    table = spec.model._meta.db_table

    def read(cursor):
        return selectors.record_list(
            spec=spec,
            actor=actor,
            search=search,
            ordering=ordering,
            cursor=cursor,
            limit=limit,
            search_first=search_first,
        )

    forward, statements, cursor = [], [], None
    while True:
        with CaptureQueriesContext(connection) as captured:
            page = read(cursor)
        statements += [q["sql"] for q in captured.captured_queries if table in q["sql"]]
        forward += [str(r.pk) for r in page.records]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    backward: list[str] = []
    while cursor:
        page = read(cursor)
        backward = [str(r.pk) for r in page.records] + backward
        cursor = page.previous_cursor
    return forward, backward, statements


def test_a_search_read_search_first_pages_exactly_like_the_index_order(tenant_a, admin_of):
    from crm_apps.engine.services import search_vector_refresh

    contacts = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        now = timezone.now()
        # Given 90 contacts, a third of them "Needle", with ties on created_at
        made = Contact.objects.bulk_create(
            [
                Contact(
                    last_name="Needle" if i % 3 == 0 else "Hay",
                    first_name=f"N{i}",
                    number=f"SF{i}",
                    created_at=now - dt.timedelta(seconds=i // 4),
                )
                for i in range(90)
            ]
        )
        search_vector_refresh(contacts, [c.pk for c in made])

        indexed, indexed_back, indexed_sql = walk_pages(contacts, admin, limit=7, search_first=False)
        first, first_back, first_sql = walk_pages(contacts, admin, limit=7, search_first=True)

    # Then both read the same 30 records in the same order, forward and back, and only search-first
    # wraps the sort keys (COALESCE(x, x): no index gives that order)
    assert len(indexed) == 30 and len(set(indexed)) == 30
    assert first == indexed
    assert first_back == indexed_back == indexed[: len(indexed_back)]
    assert all("ORDER BY COALESCE" in sql for sql in first_sql)
    assert not any("COALESCE" in sql for sql in indexed_sql)
    # and search-first sorts the matches' ids, reading only the page's rows: still one statement a page
    assert len(first_sql) == len(indexed_sql)
    assert all(" IN (SELECT " in sql and "LIMIT 8)" in sql for sql in first_sql)


def test_a_search_first_page_holds_only_what_the_member_sees(tenant_a, tenant_b, admin_of, member):
    from crm_apps.access.services import sharing_default_set
    from crm_apps.engine.services import search_vector_refresh

    contacts = registry.get("contacts")
    with schema_context(tenant_b.schema_name):
        theirs = Contact.objects.bulk_create([Contact(last_name="Needle", number=f"TB{i}") for i in range(4)])
        search_vector_refresh(contacts, [c.pk for c in theirs])
    seller = member(tenant_a)
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=False)
        made = Contact.objects.bulk_create(
            [Contact(last_name="Needle", number=f"PV{i}", owner=seller if i % 4 == 0 else admin) for i in range(40)]
        )
        search_vector_refresh(contacts, [c.pk for c in made])
        mine = {str(c.pk) for c in made if c.owner_id == seller.pk}

        seen: list[str] = []
        cursor = None
        while True:
            page = selectors.record_list(
                spec=contacts, actor=seller, search="needle", cursor=cursor, limit=3, search_first=True
            )
            seen += [str(r.pk) for r in page.records]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor

    # Then the private member pages through their own ten matches only, none of the admin's or the other
    # workspace's
    assert len(seen) == len(set(seen)) == 10
    assert set(seen) == mine


def test_search_first_checks_visibility_after_sorting_and_pages_like_the_plain_query(
    tenant_a, tenant_b, admin_of, member
):
    """A member whose contacts follow their organisations: search-first sorts the matches' keys first and checks
    each one's visibility (its owner, its organisation's owner) only then, in a subquery PostgreSQL keeps as it
    is. The pages are the one-query reading's, in every order, forward and back, with nothing of what the
    member may not see and nothing of another workspace."""
    from crm_apps.access.services import sharing_default_set
    from crm_apps.engine.services import search_vector_refresh
    from crm_apps.modules.organizations.models import Organization

    contacts = registry.get("contacts")
    with schema_context(tenant_b.schema_name):
        theirs = Contact.objects.bulk_create([Contact(last_name="Needle", number=f"FB{i}") for i in range(6)])
        search_vector_refresh(contacts, [c.pk for c in theirs])
    seller = member(tenant_a)
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=True)
        sharing_default_set(actor=admin, module="organizations", access="private")
        theirs_org = Organization.objects.create(name="Admin's", number="FO1", owner=admin)
        sellers_org = Organization.objects.create(name="Seller's", number="FO2", owner=seller)
        now = timezone.now()
        made = Contact.objects.bulk_create(
            [
                Contact(
                    last_name="Needle" if i % 2 == 0 else "Hay",
                    first_name=f"F{i % 7}",
                    number=f"FV{i}",
                    owner=seller if i % 5 == 0 else admin,
                    organization=sellers_org if i % 3 == 0 else theirs_org if i % 3 == 1 else None,
                    created_at=now - dt.timedelta(seconds=i // 4),  # ties on created_at
                )
                for i in range(120)
            ]
        )
        search_vector_refresh(contacts, [c.pk for c in made])
        expected = {
            str(c.pk)
            for c in made
            if c.last_name == "Needle" and (c.owner_id == seller.pk or c.organization_id == sellers_org.pk)
        }
        selectors.statements_clear()

        for ordering in (None, "first_name", "-first_name"):
            plain, plain_back, plain_sql = walk_pages(contacts, seller, limit=4, search_first=False, ordering=ordering)
            first, first_back, first_sql = walk_pages(contacts, seller, limit=4, search_first=True, ordering=ordering)
            # Then both read the member's matches only, the same ones in the same order, forward and back
            assert set(plain) == expected and len(plain) == len(expected), ordering
            assert first == plain, ordering
            assert first_back == plain_back == plain[: len(plain_back)], ordering
            # and search-first sorted before checking visibility, one statement a page as before
            assert len(first_sql) == len(plain_sql)
            assert all('OFFSET 0) "_m" INNER JOIN' in sql for sql in first_sql)
            assert not any('"_m"' in sql for sql in plain_sql)

    # An administrator (no visibility condition) is read as before: ids sorted under the search, one query
    with schema_context(tenant_a.schema_name), CaptureQueriesContext(connection) as captured:
        page = selectors.record_list(spec=contacts, actor=admin, search="needle", limit=4, search_first=True)
    assert len(page.records) == 4
    assert not any('"_m"' in q["sql"] for q in captured.captured_queries)


def test_the_planner_estimate_is_remembered_per_statement_and_access_version(
    tenant_a, tenant_b, admin_of, member, django_capture_on_commit_callbacks
):
    from crm_apps.access.grants import access_changed
    from crm_apps.access.services import sharing_default_set

    contacts = registry.get("contacts")
    seller = member(tenant_a)
    with schema_context(tenant_b.schema_name):
        Contact.objects.bulk_create([Contact(last_name=f"B {i}", number=f"EB{i}") for i in range(30)])
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE contacts_contact")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=False)
        Contact.objects.bulk_create([Contact(last_name=f"A {i}", number=f"EA{i}", owner=admin) for i in range(3)])

        def explains(actor, **kwargs):
            with CaptureQueriesContext(connection) as captured:
                selectors.record_count(spec=contacts, actor=actor, **kwargs)
            return len([q for q in captured.captured_queries if q["sql"].startswith("EXPLAIN")])

        # The same statement again: planned once; another member (other conditions) or search: planned
        assert (explains(admin), explains(admin)) == (1, 0)
        assert (explains(seller), explains(seller)) == (1, 0)
        assert explains(admin, search="A") == 1
        # A change of who may see what (once committed): planned afresh
        with django_capture_on_commit_callbacks(execute=True):
            access_changed()
        assert explains(admin) == 1
    # Another workspace never reads this one's estimate (the schema prefixes every key)
    with schema_context(tenant_b.schema_name):
        admin_b = admin_of(tenant_b)
        assert explains(admin_b) == 1
        assert selectors.record_count(spec=contacts, actor=admin_b) == (30, True)


def test_the_counted_statement_is_built_once_per_member_arguments_and_versions(
    tenant_a, tenant_b, admin_of, member, monkeypatch, django_capture_on_commit_callbacks
):
    from crm_apps.access.grants import access_changed

    contacts = registry.get("contacts")
    seller = member(tenant_a)
    built: list[str] = []
    real = selectors.list_queryset

    def counted(**kwargs):
        built.append(kwargs["search"])
        return real(**kwargs)

    monkeypatch.setattr(selectors, "list_queryset", counted)
    monkeypatch.setattr(selectors, "EXACT_COUNT_MAX_COST", 0)  # the estimate only: no capped count to build
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        selectors.statements_clear()
        for _ in range(2):
            selectors.record_count(spec=contacts, actor=admin, search="Kim")
        assert built == ["Kim"]  # the second time: the kept statement, no queryset built
        selectors.record_count(spec=contacts, actor=admin, search="Lee")
        selectors.record_count(spec=contacts, actor=seller, search="Kim")  # another member: other conditions
        selectors.record_count(spec=contacts, actor=admin, search="Kim", filters={"lead_source": "Web"})
        assert built == ["Kim", "Lee", "Kim", "Kim"]
        with django_capture_on_commit_callbacks(execute=True):
            access_changed()  # who may see what changed: built afresh
        selectors.record_count(spec=contacts, actor=admin, search="Kim")
        assert len(built) == 5
        # Asked to count exactly: always the queryset itself
        selectors.record_count(spec=contacts, actor=admin, search="Kim", exact=True)
        assert len(built) == 6
    with schema_context(tenant_b.schema_name):  # another workspace: its own statement (the schema is in the key)
        selectors.record_count(spec=contacts, actor=admin_of(tenant_b), search="Kim")
        assert len(built) == 7
