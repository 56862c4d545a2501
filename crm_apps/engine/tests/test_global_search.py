"""The global search (issue 25): one probe statement tells which modules have a match at all; only those are
read, under the member's visibility, and the answer is the one the module-by-module search gave."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context, tenant_context

from conftest import statements
from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry, selectors
from crm_apps.engine.services import record_create

pytestmark = pytest.mark.django_db


def make(tenant, actor, module, **extra):
    spec = registry.get(module)
    with tenant_context(tenant):
        return record_create(spec=spec, actor=actor, data={**spec.example, **extra})


def found_keys(groups):
    return {(g.spec.key, r.pk) for g in groups for r in g.records}


def test_only_modules_with_a_match_are_read(tenant_a, tenant_b, admin_of):
    admin = admin_of(tenant_a)
    contact = make(tenant_a, admin, "contacts", last_name="Quixotelle", email="q@example.com")
    # Another workspace's organisation of the same name: neither found nor probed for in this one.
    make(tenant_b, admin_of(tenant_b), "organizations", name="Quixotelle Holdings")

    with schema_context(tenant_a.schema_name), CaptureQueriesContext(connection) as captured:
        groups = selectors.global_search(actor=admin, text="quixotelle")

    assert found_keys(groups) == {("contacts", contact.pk)}
    sql = statements(captured)
    probe = [s for s in sql if s.startswith(selectors.SEARCH_PROBE_MARK)]
    # (The registry may read the workspace's custom modules first: not a search statement.)
    reads = [s for s in sql if not s.startswith(selectors.SEARCH_PROBE_MARK) and "custom_modules_" not in s]
    assert len(probe) == 1
    # The contacts: the full-text match, then the similar ones (fewer than a page matched). No other module.
    assert len(reads) == 2 and all('FROM "contacts_contact"' in s for s in reads), reads


def test_probe_names_the_kind_of_match(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    make(tenant_a, admin, "contacts", last_name="Schwarzenegger", email="arnold@example.com")
    make(tenant_a, admin, "organizations", name="Ordinary Widgets")
    specs = registry.all_specs()

    with schema_context(tenant_a.schema_name):
        prefix = selectors._search_candidates(specs, "schwarz", fuzzy=True)
        typo = selectors._search_candidates(specs, "Schwarzeneger", fuzzy=True)
        short = selectors._search_candidates(specs, "sc", fuzzy=False)
        nothing = selectors._search_candidates(specs, "Zzqxj", fuzzy=True)

    assert prefix == {"contacts": "match"}
    assert typo == {"contacts": "similar"}
    assert short == {"contacts": "match"}
    assert nothing == {}


def test_a_match_the_member_may_not_see_stays_hidden(tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        sharing_default_set(actor=admin, module="contacts", access="private")
    make(tenant_a, admin, "contacts", last_name="Privatissimo", email="p@example.com")
    rep = member(tenant_a)

    with schema_context(tenant_a.schema_name):
        probed = selectors._search_candidates(registry.all_specs(), "Privatissimo", fuzzy=True)
        groups = selectors.global_search(actor=rep, text="Privatissimo")
        own = selectors.global_search(actor=admin, text="Privatissimo")

    # The probe knows a record matches (whoever may see it); the member's read under visibility finds nothing.
    assert probed == {"contacts": "match"}
    assert groups == []
    assert [g.spec.key for g in own] == ["contacts"]


@pytest.mark.parametrize(
    "text", ["Müller", "mul", "Mueller", "acme", "Acme Corp", "ORG-", "!!", "a@b", "Schwarzeneger"]
)
def test_same_answer_as_searching_every_module(tenant_a, admin_of, monkeypatch, text):
    admin = admin_of(tenant_a)
    make(tenant_a, admin, "contacts", last_name="Müller", email="m@example.com")
    make(tenant_a, admin, "contacts", last_name="Mueller", email="m2@example.com")
    make(tenant_a, admin, "contacts", last_name="Schwarzenegger", email="s@example.com")
    make(tenant_a, admin, "organizations", name="Acme Corp")
    make(tenant_a, admin, "deals", name="Acme renewal")
    make(tenant_a, admin, "tickets", title="Müller cannot log in")

    with schema_context(tenant_a.schema_name):
        probed = found_keys(selectors.global_search(actor=admin, text=text))
        # Every module read, as before the probe existed.
        monkeypatch.setattr(
            selectors, "_search_candidates", lambda specs, _text, fuzzy: dict.fromkeys((s.key for s in specs), "match")
        )
        everything = found_keys(selectors.global_search(actor=admin, text=text))

    assert probed == everything


def test_a_members_search_checks_visibility_after_sorting_with_the_same_answer(
    tenant_a, tenant_b, admin_of, member, monkeypatch
):
    """A member whose contacts follow their organisations: each module's matches are sorted first (newest
    change first) and their visibility checked after, in order; the answer is the one-query reading's, nothing
    the member may not see, nothing of another workspace."""
    from crm_apps.modules.contacts.models import Contact
    from crm_apps.modules.organizations.models import Organization

    admin = admin_of(tenant_a)
    rep = member(tenant_a)
    with schema_context(tenant_b.schema_name):
        admin_of(tenant_b)
    make(tenant_b, admin_of(tenant_b), "contacts", last_name="Needleman", email="b@example.com")
    with schema_context(tenant_a.schema_name):
        sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=True)
        sharing_default_set(actor=admin, module="organizations", access="private")
        theirs = Organization.objects.create(name="Admin org", number="GS1", owner=admin)
        reps = Organization.objects.create(name="Rep org", number="GS2", owner=rep)
    made = [
        make(tenant_a, admin, "contacts", last_name="Needleman", first_name=f"N{i}", email=f"n{i}@example.com")
        for i in range(12)
    ]
    with schema_context(tenant_a.schema_name):
        for i, contact in enumerate(made):
            owner = rep if i % 4 == 0 else admin
            organization = reps if i % 3 == 0 else theirs
            Contact.objects.filter(pk=contact.pk).update(owner=owner, organization=organization)
        expected = {c.pk for i, c in enumerate(made) if i % 4 == 0 or i % 3 == 0}
        with CaptureQueriesContext(connection) as captured:
            sorted_first = selectors.global_search(actor=rep, text="Needleman", per_module=5)
        monkeypatch.setattr(selectors, "_sorted_then_visible", lambda *args: None)
        one_query = selectors.global_search(actor=rep, text="Needleman", per_module=5)
        everything = selectors.global_search(actor=rep, text="Needleman", per_module=50)

    contacts = [r.pk for g in sorted_first if g.spec.key == "contacts" for r in g.records]
    assert contacts == [r.pk for g in one_query if g.spec.key == "contacts" for r in g.records]
    assert len(contacts) == 5
    assert {r.pk for g in everything for r in g.records} == expected
    assert any('OFFSET 0) "_m" INNER JOIN' in q["sql"] for q in captured.captured_queries)


def test_the_kept_visibility_check_follows_a_sharing_change(
    tenant_a, admin_of, member, django_capture_on_commit_callbacks
):
    """The member's compiled visibility check is kept with the list statements: a change of who may see what
    (a new access version once committed) makes a new one."""
    from crm_apps.modules.contacts.models import Contact

    admin = admin_of(tenant_a)
    rep = member(tenant_a)
    with schema_context(tenant_a.schema_name):
        sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=False)
    made = [make(tenant_a, admin, "contacts", last_name="Keptcheck", email=f"k{i}@example.com") for i in range(4)]
    with schema_context(tenant_a.schema_name):
        from crm_apps.access.services import group_save

        team = group_save(actor=admin, group=None, name="Keptcheck team")
        Contact.objects.filter(pk=made[0].pk).update(owner=rep)
        Contact.objects.filter(pk=made[1].pk).update(owner=None, owner_group=team)
        before = selectors.global_search(actor=rep, text="Keptcheck", per_module=10)
        again = selectors.global_search(actor=rep, text="Keptcheck", per_module=10)
        # The member joins the group owning a contact: still private, another condition
        with django_capture_on_commit_callbacks(execute=True):
            group_save(actor=admin, group=team, name="Keptcheck team", member_ids=[rep.pk])
        after = selectors.global_search(actor=rep, text="Keptcheck", per_module=10)
        with CaptureQueriesContext(connection) as captured:
            selectors.global_search(actor=rep, text="Keptcheck", per_module=10)

    assert found_keys(before) == found_keys(again) == {("contacts", made[0].pk)}
    assert found_keys(after) == {("contacts", made[0].pk), ("contacts", made[1].pk)}
    # (the sorted read itself checks the group now, not only the similar-names read after it)
    sorted_reads = [q["sql"] for q in captured.captured_queries if '"_m"' in q["sql"]]
    assert sorted_reads and all('"owner_group_id" IN' in sql for sql in sorted_reads)
