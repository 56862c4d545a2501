"""The services behind record links check the actor themselves, whatever the caller already checked."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_tenants.utils import schema_context

from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry, services
from crm_apps.engine.models import Comment, Follow, TimelineEntry

pytestmark = pytest.mark.django_db
CONTACTS = registry.get("contacts")


@pytest.fixture
def world(tenant_a: Any, admin_of: Any, member: Any) -> Any:
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        outsider = member(tenant_a)
        record = services.record_create(spec=CONTACTS, actor=admin, data={"last_name": "Private"})
        sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=False)
        yield admin, outsider, record


def test_comment_on_a_record_the_actor_cannot_see_is_not_found_and_writes_nothing(world):
    _admin, outsider, record = world

    with pytest.raises(CONTACTS.model.DoesNotExist):
        services.comment_add(spec=CONTACTS, actor=outsider, record=record, body="Sneaky")

    assert not Comment.objects.filter(record_id=record.pk).exists()
    assert not TimelineEntry.objects.filter(record_id=record.pk, kind="commented").exists()


def test_follow_of_a_record_the_actor_cannot_see_is_not_found(world):
    _admin, outsider, record = world

    with pytest.raises(CONTACTS.model.DoesNotExist):
        services.follow_set(spec=CONTACTS, actor=outsider, record=record, following=True)

    assert not Follow.objects.filter(record_id=record.pk).exists()


def test_links_of_a_record_in_the_recycle_bin_cannot_be_added(world):
    admin, _outsider, record = world
    services.record_delete(spec=CONTACTS, actor=admin, record=record)

    with pytest.raises(CONTACTS.model.DoesNotExist):
        services.comment_add(spec=CONTACTS, actor=admin, record=record, body="Too late")
    with pytest.raises(CONTACTS.model.DoesNotExist):
        services.follow_set(spec=CONTACTS, actor=admin, record=record, following=True)


def test_restore_needs_the_right_to_delete(tenant_a, admin_of, member):
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        reader = member(tenant_a)
        record = services.record_create(spec=CONTACTS, actor=admin, data={"last_name": "Binned"})
        services.record_delete(spec=CONTACTS, actor=admin, record=record)
        sharing_default_set(actor=admin, module="contacts", access="public_read")

        with pytest.raises(PermissionDenied):
            services.record_restore(spec=CONTACTS, actor=reader, record_id=record.pk)
        still_deleted = CONTACTS.model.objects.get(pk=record.pk).deleted_at is not None
        restored = services.record_restore(spec=CONTACTS, actor=admin, record_id=record.pk)

    assert still_deleted is True
    assert restored.deleted_at is None


def test_tags_change_adds_and_removes_against_the_stored_tags(tenant_a, admin_of):
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        record = services.record_create(spec=CONTACTS, actor=admin, data={"last_name": "Tagged", "tags": ["a", "B"]})
        stale_copy = CONTACTS.model.objects.get(pk=record.pk)
        services.record_tags_change(spec=CONTACTS, actor=admin, record=record, add=["c"])

        # Based on a copy read before the first change: the stored tags win, nothing is lost.
        changed = services.record_tags_change(spec=CONTACTS, actor=admin, record=stale_copy, add=["d"], remove=["b"])
        with pytest.raises(ValidationError) as both:
            services.record_tags_change(spec=CONTACTS, actor=admin, record=record, tags=["x"], add=["y"])

    assert changed.tags == ["a", "c", "d"]
    assert list(both.value.message_dict) == ["tags"]
