"""Writes by members on a module that follows its parent (contacts follow their organisation).

The visibility condition reaches the parent's owner through a LEFT JOIN (issue 13). Every write locks
the record through that condition; PostgreSQL refuses `FOR UPDATE` on the nullable side of an outer
join, so the lock names only the record's own table. These tests run every locked write as a member
(admins skip the filter and never build the join)."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_context

from crm_apps.access.models import Role
from crm_apps.access.services import profile_save, role_create, sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import (
    record_create,
    record_delete,
    record_restore,
    record_tags_change,
    record_update,
    records_mass_delete,
    records_mass_update,
)


@pytest.fixture
def follow_parent(tenant_a: Any, admin_of: Any, member: Any) -> dict[str, Any]:
    """A rep, a colleague's organisation owned by the rep, and a colleague's contact in it (visible to the
    rep only through the organisation); contacts and organisations private, contacts follow."""
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        profile = profile_save(
            actor=admin,
            profile=None,
            name="Follow",
            flags={"default_view": True, "default_create": True, "default_edit": True, "default_delete": True},
        )
        role = role_create(
            actor=admin, name="Follow rep", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
        rep = member(tenant_a, role=role)
        colleague = member(tenant_a, role=role)
        sharing_default_set(actor=admin, module="organizations", access="private")
        sharing_default_set(actor=admin, module="contacts", access="private", superiors_see=True, follow_parent=True)
        org = record_create(spec=registry.get("organizations"), actor=rep, data={"name": "Parent Org"})
        theirs = record_create(spec=registry.get("contacts"), actor=colleague, data={"last_name": "Through"})
        # The colleague cannot see the rep's organisation to pick it; put the contact in it directly.
        registry.get("contacts").model.objects.filter(pk=theirs.pk).update(organization=org)
        theirs.refresh_from_db()
        assert theirs.owner_id == colleague.pk
        own = record_create(spec=registry.get("contacts"), actor=rep, data={"last_name": "Own"})
    return {"rep": rep, "via_parent": theirs, "own": own}


@pytest.mark.parametrize("which", ["via_parent", "own"])
def test_member_updates_tags_deletes_and_restores_a_contact_of_a_follow_parent_module(tenant_a, follow_parent, which):
    contacts = registry.get("contacts")
    rep, contact = follow_parent["rep"], follow_parent[which]
    with schema_context(tenant_a.schema_name):
        updated = record_update(spec=contacts, actor=rep, record=contact, data={"first_name": "Ann"})
        tagged = record_tags_change(spec=contacts, actor=rep, record=contact, add=["vip"])
        record_delete(spec=contacts, actor=rep, record=updated)
        restored = record_restore(spec=contacts, actor=rep, record_id=contact.pk)

        assert updated.first_name == "Ann"
        assert tagged.tags == ["vip"]
        assert restored.deleted_at is None
        assert contacts.model.objects.get(pk=contact.pk).first_name == "Ann"


def test_member_mass_edits_and_deletes_contacts_of_a_follow_parent_module(tenant_a, follow_parent):
    contacts = registry.get("contacts")
    rep = follow_parent["rep"]
    ids = [follow_parent["via_parent"].pk, follow_parent["own"].pk]
    with schema_context(tenant_a.schema_name):
        changed = records_mass_update(spec=contacts, actor=rep, ids=ids, data={"department": "Sales"})
        deleted = records_mass_delete(spec=contacts, actor=rep, ids=ids)

        assert changed == 2
        assert deleted == 2
        assert list(contacts.model.objects.filter(pk__in=ids).values_list("department", flat=True)) == [
            "Sales",
            "Sales",
        ]
        assert contacts.model.objects.filter(pk__in=ids, deleted_at__isnull=False).count() == 2


def test_can_edit_uses_a_joined_parent_only_when_its_owner_columns_were_read(tenant_a, follow_parent):
    """`visibility.can_edit` on a contact seen through its organisation: the joined organisation answers
    without a query when it carries its owner and group; a parent read without them (deferred) is read again,
    and the answer is the same."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crm_apps.access import visibility

    contacts = registry.get("contacts")
    rep, contact = follow_parent["rep"], follow_parent["via_parent"]
    with schema_context(tenant_a.schema_name):
        joined = contacts.model.objects.select_related("organization").get(pk=contact.pk)
        deferred = (
            contacts.model.objects.select_related("organization")
            .only("id", "owner_id", "owner_group_id", "organization__id", "organization__name")
            .get(pk=contact.pk)
        )
        assert "owner_id" not in deferred.organization.__dict__
        visibility.can_edit(actor=rep, spec=contacts, record=joined)  # warm the member's grants
        with CaptureQueriesContext(connection) as complete:
            allowed_joined = visibility.can_edit(actor=rep, spec=contacts, record=joined)
        with CaptureQueriesContext(connection) as partial:
            allowed_deferred = visibility.can_edit(actor=rep, spec=contacts, record=deferred)
    assert allowed_joined is True and allowed_deferred is True
    assert len(complete.captured_queries) == 0
    assert len(partial.captured_queries) >= 1  # the parent's owner read again, not guessed
