"""The registry-driven suite of record links: every linking model (`crm_apps.engine.links.link_models`)
gets purge, merge, visibility and cross-tenant isolation by inheriting `RecordLink`, and so does any
model added later: its rows are built from its fields, so it needs no entry here."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import pytest
from django.db import models
from django.test.utils import isolate_apps
from django.utils import timezone
from django_tenants.utils import schema_context

from crm_apps.access.models import Member
from crm_apps.access.services import sharing_default_set
from crm_apps.engine import links, registry, services
from crm_apps.engine.models import Comment, Follow, RecentView, RecordLink, TimelineEntry
from saas.fields import MODULE_KEY_MAX_LENGTH, ModuleKeyField

pytestmark = pytest.mark.django_db

LINK_MODELS = links.link_models()
LABELS = [m._meta.label for m in LINK_MODELS]
CONTACTS = registry.get("contacts")
_serial = itertools.count()


def build(model: type[models.Model], *, member: Member, **values: Any) -> Any:
    """A saved row of `model` with a plausible value in every required field (foreign keys built the
    same way, members given): enough for any linking model without knowing it."""
    for field in model._meta.concrete_fields:
        if field.name in values or field.attname in values or field.primary_key:
            continue
        if field.has_default() or field.null:
            continue
        if isinstance(field, models.ForeignKey):
            target: Any = field.related_model
            values[field.name] = member if target is Member else build(target, member=member)
        elif field.choices:
            values[field.name] = field.choices[0][0]
        elif isinstance(field, models.URLField):
            values[field.name] = "https://hooks.example.com/links"
        elif isinstance(field, models.CharField | models.TextField):
            values[field.name] = f"link-{next(_serial)}"[: field.max_length or 50]
        elif isinstance(field, models.IntegerField):
            values[field.name] = next(_serial) + 1
        elif isinstance(field, models.DateTimeField):
            values[field.name] = timezone.now()
        elif isinstance(field, models.UUIDField):
            values[field.name] = uuid.uuid4()
        elif isinstance(field, models.JSONField):
            values[field.name] = {}
        else:
            raise AssertionError(f"teach build() to fill {model._meta.label}.{field.name}")
    return model._default_manager.create(**values)


def link(model: type[RecordLink], record: Any, *, member: Member, **values: Any) -> Any:
    return build(model, member=member, module="contacts", record_id=record.pk, **values)


def contact(actor: Member, **data: Any) -> Any:
    return services.record_create(spec=CONTACTS, actor=actor, data={"last_name": "Link", **data})


def test_the_registry_finds_every_link_model_without_importing_their_apps():
    assert {"engine.Comment", "engine.Follow", "engine.RecentView", "engine.TimelineEntry"} <= set(LABELS)
    assert "installs.WebhookDelivery" in LABELS  # registered by inheriting RecordLink, in its own app
    for model in LINK_MODELS:
        field = model._meta.get_field("module")
        assert isinstance(field, ModuleKeyField) and field.max_length == MODULE_KEY_MAX_LENGTH
        assert links.record_index_problem(model) is None


def test_every_module_key_column_has_the_one_length():
    from django.apps import apps

    keyed = [
        (m._meta.label, f.name)
        for m in apps.get_models()
        for f in m._meta.concrete_fields
        if f.name == "module" and m._meta.app_label in {"engine", "access", "audit", "installs"}
    ]
    assert keyed  # the audit trail, access rules, definitions and links all store module keys
    for label, name in keyed:
        field = apps.get_model(label)._meta.get_field(name)
        assert isinstance(field, ModuleKeyField), label


def test_a_module_key_field_refuses_another_length():
    with pytest.raises(TypeError):
        ModuleKeyField(max_length=20)


@isolate_apps("crm_apps.engine")
def test_the_system_check_reports_a_link_model_without_a_record_index():
    class Unindexed(RecordLink):
        class Meta:
            app_label = "engine"
            managed = False
            indexes = []

    assert links.record_index_problem(Unindexed) == (
        "engine.Unindexed has no index whose leading columns are (module, record_id)."
    )


@pytest.mark.parametrize("label", LABELS)
def test_links_of_another_tenant_are_invisible_and_untouched(label, tenant_a, tenant_b, admin_of):
    model = next(m for m in LINK_MODELS if m._meta.label == label)
    with schema_context(tenant_a.schema_name):
        admin_a = admin_of(tenant_a)
        record_a = contact(admin_a)
        row = link(model, record_a, member=admin_a)

    with schema_context(tenant_b.schema_name):
        admin_b = admin_of(tenant_b)
        record_b = contact(admin_b)
        seen_in_b = list(links.links_visible(actor=admin_b, model=model).filter(record_id=record_a.pk))
        by_id_in_b = model.objects.filter(record_id=record_a.pk).exists()
        purged = links.links_purge(module="contacts", record_ids=[record_a.pk])
        moved = links.links_merge(module="contacts", from_ids=[record_a.pk], to_id=record_b.pk)

    with schema_context(tenant_a.schema_name):
        still = model.objects.filter(pk=row.pk, record_id=record_a.pk).exists()
        seen_in_a = list(links.links_visible(actor=admin_a, model=model).values_list("pk", flat=True))

    assert seen_in_b == []
    assert by_id_in_b is False
    assert purged[label] == 0
    assert moved.get(label, 0) == 0
    assert still is True
    assert row.pk in seen_in_a


@pytest.mark.parametrize("label", LABELS)
def test_a_link_is_visible_exactly_when_its_record_is(label, tenant_a, admin_of, member):
    model = next(m for m in LINK_MODELS if m._meta.label == label)
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        reader = member(tenant_a)
        mine = contact(admin, owner=reader.pk)
        theirs = contact(admin)
        deleted = contact(admin, owner=reader.pk)
        rows = {
            name: link(model, r, member=admin) for name, r in (("mine", mine), ("theirs", theirs), ("deleted", deleted))
        }
        services.record_delete(spec=CONTACTS, actor=admin, record=deleted)

        def seen() -> set[str]:
            pks = set(links.links_visible(actor=reader, model=model).values_list("pk", flat=True))
            return {name for name, row in rows.items() if row.pk in pks}

        public = seen()
        sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=False)
        private = seen()
        admin_sees = set(links.links_visible(actor=admin, model=model).values_list("pk", flat=True))

    assert public == {"mine", "theirs"}
    assert private == {"mine"}
    assert {rows["mine"].pk, rows["theirs"].pk} <= admin_sees
    assert rows["deleted"].pk not in admin_sees


@pytest.mark.parametrize("label", LABELS)
def test_purging_a_record_deletes_its_links_and_only_its_links(label, tenant_a, admin_of):
    model = next(m for m in LINK_MODELS if m._meta.label == label)
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        gone, kept = contact(admin), contact(admin)
        link(model, gone, member=admin)
        kept_row = link(model, kept, member=admin)
        services.record_delete(spec=CONTACTS, actor=admin, record=gone)
        CONTACTS.model.objects.filter(pk=gone.pk).update(deleted_at=timezone.now() - dt.timedelta(days=31))

        purged = services.records_purge_deleted()

        assert purged["contacts"] == 1
        assert not model.objects.filter(record_id=gone.pk).exists()
        assert model.objects.filter(pk=kept_row.pk).exists()


@pytest.mark.parametrize("label", LABELS)
def test_merging_moves_or_keeps_links_as_the_model_declares(label, tenant_a, admin_of):
    model = next(m for m in LINK_MODELS if m._meta.label == label)
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        survivor, duplicate = contact(admin, email="keep@example.com"), contact(admin, email="dupe@example.com")
        row = link(model, duplicate, member=admin)

        services.records_merge(spec=CONTACTS, actor=admin, primary_id=survivor.pk, other_ids=[duplicate.pk], choices={})

        row_now = model.objects.filter(pk=row.pk).values_list("record_id", flat=True).first()
    expected = survivor.pk if model.link_on_merge == RecordLink.MOVE else duplicate.pk
    assert row_now == expected


def test_merge_keeps_one_follow_and_one_recent_view_per_member(tenant_a, admin_of, member):
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        other = member(tenant_a)
        survivor, first, second = contact(admin), contact(admin), contact(admin)
        for record in (survivor, first, second):
            Follow.objects.create(member=admin, module="contacts", record_id=record.pk)
            RecentView.objects.create(member=admin, module="contacts", record_id=record.pk)
        Follow.objects.create(member=other, module="contacts", record_id=first.pk)
        Follow.objects.create(member=other, module="contacts", record_id=second.pk)

        services.records_merge(
            spec=CONTACTS, actor=admin, primary_id=survivor.pk, other_ids=[first.pk, second.pk], choices={}
        )

        follows = sorted(
            Follow.objects.filter(record_id__in=[survivor.pk, first.pk, second.pk]).values_list(
                "member_id", "record_id"
            )
        )
        recents = list(
            RecentView.objects.filter(record_id__in=[survivor.pk, first.pk, second.pk]).values_list(
                "member_id", "record_id"
            )
        )
    assert follows == sorted([(admin.pk, survivor.pk), (other.pk, survivor.pk)])
    assert recents == [(admin.pk, survivor.pk)]


def test_merge_moves_comments_and_timeline_and_adds_the_merge_entry(tenant_a, admin_of):
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        survivor, duplicate = contact(admin), contact(admin)
        services.comment_add(spec=CONTACTS, actor=admin, record=duplicate, body="On the duplicate")

        services.records_merge(spec=CONTACTS, actor=admin, primary_id=survivor.pk, other_ids=[duplicate.pk], choices={})

        assert list(Comment.objects.filter(body="On the duplicate").values_list("record_id", flat=True)) == [
            survivor.pk
        ]
        kinds = sorted(TimelineEntry.objects.filter(record_id=survivor.pk).values_list("kind", flat=True))
    assert kinds == ["commented", "created", "created", "merged"]


def test_merge_repoints_record_custom_fields_of_every_module(tenant_a, admin_of):
    deals = registry.get("deals")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        services.custom_field_create(
            actor=admin, spec=deals, key="champion", label="Champion", type="record", options={"target": "contacts"}
        )
        services.custom_field_create(
            actor=admin,
            spec=CONTACTS,
            key="referrer",
            label="Referred by",
            type="record",
            options={"target": "contacts"},
        )
        survivor, duplicate, unrelated = contact(admin), contact(admin), contact(admin)
        deal = services.record_create(
            spec=deals, actor=admin, data=dict(deals.example), custom={"champion": str(duplicate.pk)}
        )
        other_deal = services.record_create(
            spec=deals, actor=admin, data=dict(deals.example), custom={"champion": str(unrelated.pk)}
        )
        referred = contact(admin, last_name="Referred")
        services.record_update(
            spec=CONTACTS, actor=admin, record=referred, data={}, custom={"referrer": str(duplicate.pk)}
        )
        binned = services.record_create(
            spec=deals, actor=admin, data=dict(deals.example), custom={"champion": str(duplicate.pk)}
        )
        services.record_delete(spec=deals, actor=admin, record=binned)
        versions = {r.pk: r.version for r in (deals.model.objects.filter(pk__in=[deal.pk, binned.pk]))}

        services.records_merge(spec=CONTACTS, actor=admin, primary_id=survivor.pk, other_ids=[duplicate.pk], choices={})

        fresh = {r.pk: r for r in deals.model.objects.filter(pk__in=[deal.pk, other_deal.pk, binned.pk])}
        referred_now = CONTACTS.model.objects.get(pk=referred.pk)
    assert fresh[deal.pk].custom_data["champion"] == str(survivor.pk)
    assert fresh[binned.pk].custom_data["champion"] == str(survivor.pk)
    assert fresh[other_deal.pk].custom_data["champion"] == str(unrelated.pk)
    assert referred_now.custom_data["referrer"] == str(survivor.pk)
    assert fresh[deal.pk].version == versions[deal.pk] + 1
