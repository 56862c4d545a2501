"""Query-plan regression test of issue 13: a member's queries on a module that follows its parent
(contacts follow their organisation) reach the parent through the many-to-one join, never through a
(hashed) SubPlan over the parent table.

The old condition, `organization_id IN (SELECT id FROM organizations_organization WHERE owner ...)`
inside the OR of the owner checks, cannot be turned into a join by PostgreSQL: it runs as a hashed
SubPlan that reads every organisation the member may see, whatever the size of the page (95-150 ms
for a manager at 1M contacts against 2.4 ms for an admin). The test loads enough rows for the
planner's statistics to be real (ANALYZE), runs the list (first and a deep page), the detail, the
global search, the API list and the export query as a member, and EXPLAINs each statement
exactly as it ran."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from crm_apps.access.models import Role
from crm_apps.access.services import profile_save, role_create, sharing_default_set
from crm_apps.engine import registry, selectors
from crm_apps.modules.contacts.models import Contact
from crm_apps.modules.organizations.models import Organization

ORGANISATIONS = 2_000
CONTACTS = 12_000


def _plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node]
    for child in node.get("Plans", ()):
        found += _plan_nodes(child)
    return found


def _explain(sql: str) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def _load(owners: list[Any], member: Any) -> tuple[Any, Any]:
    """Organisations owned round-robin by `owners` (the member owns every 4th), contacts owned by the
    others, so that most of the member's contacts are visible only through their organisation."""
    now = timezone.now()
    org_rows = Organization.objects.bulk_create(
        [
            Organization(name=f"Plan org {i}", number=f"PO{i}", owner=owners[i % len(owners)])
            for i in range(ORGANISATIONS)
        ],
        batch_size=1000,
    )
    others = [o for o in owners if o.pk != member.pk]
    Contact.objects.bulk_create(
        [
            Contact(
                last_name=f"Smith {i}",
                number=f"PC{i}",
                owner=others[i % len(others)],
                organization=org_rows[i % ORGANISATIONS],
                created_at=now - dt.timedelta(minutes=i),
            )
            for i in range(CONTACTS)
        ],
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE contacts_contact SET search_vector = to_tsvector('simple', last_name || ' ' || number)")
        cursor.execute("ANALYZE contacts_contact")
        cursor.execute("ANALYZE organizations_organization")
    via_parent = Contact.objects.filter(organization__owner=member).exclude(owner=member).order_by("created_at").first()
    return org_rows, via_parent


def test_member_queries_on_a_follow_parent_module_have_no_subplan_over_the_parent(tenant_a, admin_of, member):
    contacts = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        profile = profile_save(
            actor=admin,
            profile=None,
            name="Plan",
            flags={"default_view": True, "default_create": True, "default_edit": True, "default_delete": True},
        )
        role = role_create(
            actor=admin, name="Plan rep", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
        rep = member(tenant_a, role=role)
        owners = [rep, *(member(tenant_a, role=role) for _ in range(3))]
        sharing_default_set(actor=admin, module="organizations", access="private")
        sharing_default_set(actor=admin, module="contacts", access="private", superiors_see=True, follow_parent=True)
        _orgs, via_parent = _load(owners, rep)
        assert via_parent is not None

        with CaptureQueriesContext(connection) as captured:
            first = selectors.record_list(spec=contacts, actor=rep, default_view=False)
            deep = selectors.record_list(spec=contacts, actor=rep, default_view=False, cursor=first.next_cursor)
            found = selectors.access_record(spec=contacts, actor=rep, record_id=via_parent.pk)
            groups = selectors.global_search(actor=rep, text="smith")
            api = selectors.record_list(spec=contacts, actor=rep, default_view=False, all_columns=True, limit=100)
            export = list(selectors.list_queryset(spec=contacts, actor=rep, search="smith")[:1000])

    # Every record the member reaches is there: the rewrite changed the plan, not the answer.
    assert len(first.records) == selectors.PAGE_SIZE and len(deep.records) == selectors.PAGE_SIZE
    assert {r.pk for r in first.records}.isdisjoint(r.pk for r in deep.records)
    assert found is not None and found.pk == via_parent.pk
    assert any(g.spec.key == "contacts" and len(g.records) == 5 for g in groups)
    assert len(api.records) == 100 and len(export) == 1000
    # The global search's probe (which modules have a match at all, for anyone) reads no rows; every read of
    # contacts under visibility is checked.
    statements = [
        q["sql"]
        for q in captured.captured_queries
        if '"contacts_contact"' in q["sql"] and not q["sql"].startswith(selectors.SEARCH_PROBE_MARK)
    ]
    assert len(statements) >= 6
    with schema_context(tenant_a.schema_name):
        plans = {sql: _explain(sql) for sql in statements}
    for sql, plan in plans.items():
        nodes = _plan_nodes(plan)
        subplans = [n for n in nodes if n.get("Subplan Name") or n.get("Parent Relationship") == "SubPlan"]
        assert subplans == [], f"SubPlan in the plan of {sql}:\n{json.dumps(plan, indent=1)}"
        # The parent's owner is read through the join the query makes anyway.
        assert '"organizations_organization"."owner_id"' in sql, sql
