"""record_list's statements compiled once per process (issue 25): the same member asking the same page again
runs the kept statement (rows read afresh each time); a change of sharing, of the member or of the tenant
compiles a new one, so no one ever gets another's visibility condition."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry, selectors, services

pytestmark = pytest.mark.django_db


def _numbers(page):
    return [r.number for r in page.records]


def test_a_repeated_page_runs_the_kept_statement_and_sees_new_rows(tenant_a, admin_of, member, compiles):
    contacts = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        seller = member(tenant_a)
        services.record_create(spec=contacts, actor=seller, data={"last_name": "Kept One"})
        first = selectors.record_list(spec=contacts, actor=seller, search="Kept")
        assert len(compiles) == 1

        services.record_create(spec=contacts, actor=seller, data={"last_name": "Kept Two"})
        with CaptureQueriesContext(connection) as captured:
            again = selectors.record_list(spec=contacts, actor=seller, search="Kept")
        assert len(compiles) == 1  # not compiled again
        assert len(_numbers(again)) == len(_numbers(first)) + 1  # but run again: the new row is there
        assert sum("contacts_contact" in q["sql"] for q in captured.captured_queries) == 1

        # Another member, another search, another page size: statements of their own.
        selectors.record_list(spec=contacts, actor=admin, search="Kept")
        selectors.record_list(spec=contacts, actor=seller, search="One")
        selectors.record_list(spec=contacts, actor=seller, search="Kept", limit=1)
        assert len(compiles) == 4


def test_a_sharing_change_compiles_a_new_statement(tenant_a, admin_of, member, compiles):
    contacts = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        seller, other = member(tenant_a), member(tenant_a)
        services.record_create(spec=contacts, actor=other, data={"last_name": "Private Person"})
        assert len(selectors.record_list(spec=contacts, actor=seller, search="Private").records) == 1

        sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=False)

        # The access version changed: a new statement, with the new condition.
        assert selectors.record_list(spec=contacts, actor=seller, search="Private").records == []
        assert len(compiles) == 2


def test_a_member_made_inactive_or_admin_gets_a_new_statement(tenant_a, member, compiles):
    from crm_apps.access.models import Member

    contacts = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        seller = member(tenant_a)
        services.record_create(spec=contacts, actor=seller, data={"last_name": "Flagged"})
        assert len(selectors.record_list(spec=contacts, actor=seller, search="Flagged").records) == 1
        Member.objects.filter(pk=seller.pk).update(active=False)
        seller.refresh_from_db()
        assert selectors.record_list(spec=contacts, actor=seller, search="Flagged").records == []
        assert len(compiles) == 2
        # A member who sees nothing: no statement to run, kept as such (not compiled again per record).
        record = contacts.model.objects.get(last_name="Flagged")
        assert selectors.access_record(spec=contacts, actor=seller, record_id=record.pk) is None
        assert selectors.access_record(spec=contacts, actor=seller, record_id=record.pk) is None
        assert len(compiles) == 3


def test_the_same_page_in_two_tenants_never_shares_a_statement(tenant_a, tenant_b, admin_of, compiles):
    contacts = registry.get("contacts")
    names = {}
    for tenant, name in ((tenant_a, "Alpha Only"), (tenant_b, "Beta Only")):
        with schema_context(tenant.schema_name):
            admin = admin_of(tenant)
            services.record_create(spec=contacts, actor=admin, data={"last_name": name})
            names[tenant.schema_name] = admin
    for _round in range(2):
        for tenant, seen_name in ((tenant_a, "Alpha Only"), (tenant_b, "Beta Only")):
            with schema_context(tenant.schema_name):
                page = selectors.record_list(spec=contacts, actor=names[tenant.schema_name], search="Only")
                assert [r.last_name for r in page.records] == [seen_name]
    assert len(compiles) == 2  # one per tenant, each reused in the second round


def test_refused_input_is_refused_every_time(tenant_a, admin_of, compiles):
    from django.core.exceptions import ValidationError

    contacts = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        for _attempt in range(2):
            with pytest.raises(ValidationError):
                selectors.record_list(spec=contacts, actor=admin, ordering="nonsense")
            with pytest.raises(ValidationError):
                selectors.record_list(spec=contacts, actor=admin, cursor="not-a-cursor")
        assert compiles == []


def test_a_record_statement_is_compiled_once_and_takes_each_records_id(tenant_a, admin_of, member, compiles):
    contacts = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        seller, other = member(tenant_a), member(tenant_a)
        mine = services.record_create(spec=contacts, actor=seller, data={"last_name": "Mine"})
        theirs = services.record_create(spec=contacts, actor=other, data={"last_name": "Theirs"})
        sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=False)
        flags = {"page_following": selectors.following_flag(spec=contacts, actor=seller)}

        first = selectors.access_record(spec=contacts, actor=seller, record_id=mine.pk, flags=flags)
        assert first.last_name == "Mine" and first.page_following is False
        assert selectors.access_record(spec=contacts, actor=seller, record_id=theirs.pk, flags=flags) is None
        assert selectors.access_record(spec=contacts, actor=seller, record_id=selectors.RECORD_ID_STAND_IN) is None
        assert len(compiles) == 2  # one with the flag, one without: each reused for every id
        assert selectors.access_record(spec=contacts, actor=other, record_id=theirs.pk).last_name == "Theirs"
        assert len(compiles) == 3


def test_a_record_is_never_read_through_another_tenants_statement(tenant_a, tenant_b, admin_of, compiles):
    contacts = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        in_a = services.record_create(spec=contacts, actor=admin_of(tenant_a), data={"last_name": "In Alpha"})
        assert selectors.access_record(spec=contacts, actor=admin_of(tenant_a), record_id=in_a.pk) is not None
    with schema_context(tenant_b.schema_name):
        assert selectors.access_record(spec=contacts, actor=admin_of(tenant_b), record_id=in_a.pk) is None
