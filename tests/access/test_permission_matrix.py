"""The permission matrix of issue 4: every registered module x action (view, edit, delete) x the
actor's relation to the record (owner, subordinate, superior, peer, group member, outsider) x each
organisation-wide default, checked through the services and through the REST API.

One role tree serves every case:

    Organisation > CEO > Manager > Rep > Junior
                       > Support

The record is owned by a Rep (owner); the peer is another Rep, the superior a Manager, the
subordinate a Junior, the outsider in Support; for "group member" the record is owned by a group
whose only member is in Support. Every role carries one profile allowing every action on every
module and no "view all"/"edit all", so only the sharing model decides.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.test import Client
from django_tenants.utils import schema_context

from conftest import host_of
from crm_apps.access import visibility
from crm_apps.access.models import Profile, Role
from crm_apps.access.services import (
    api_token_create,
    group_save,
    profile_save,
    role_create,
    sharing_default_set,
)
from crm_apps.custom_modules.testing import CONTRACT_MODULE, contract_module_create
from crm_apps.engine import registry, selectors, services

DEFAULTS = ["private", "public_read", "public_read_write", "public_read_write_delete"]
RELATIONS = ["owner", "subordinate", "superior", "peer", "group_member", "outsider"]
# Who may do what, per default: the owner-like relations (owner, superior, group member) always may.
OWNERLIKE = {"owner", "superior", "group_member"}
EXPECTED = {
    "private": {"view": OWNERLIKE, "edit": OWNERLIKE, "delete": OWNERLIKE},
    "public_read": {"view": set(RELATIONS), "edit": OWNERLIKE, "delete": OWNERLIKE},
    "public_read_write": {"view": set(RELATIONS), "edit": set(RELATIONS), "delete": OWNERLIKE},
    "public_read_write_delete": {"view": set(RELATIONS), "edit": set(RELATIONS), "delete": set(RELATIONS)},
}
# Every built-in module and a custom module built by the tenant's admin (crm_apps.custom_modules).
SPECS = [*(s.key for s in registry.all_specs()), CONTRACT_MODULE]


class World:
    """The actors, in one tenant, and a token for each."""

    def __init__(self, tenant: Any, admin: Any, member: Any) -> None:
        self.tenant = tenant
        profile = profile_save(
            actor=admin,
            profile=None,
            name="Matrix",
            flags={"default_view": True, "default_create": True, "default_edit": True, "default_delete": True},
        )
        top = Role.objects.get(parent__isnull=True)
        ceo = role_create(actor=admin, name="M-CEO", parent=top, profile_ids=[profile.pk])
        manager = role_create(actor=admin, name="M-Manager", parent=ceo, profile_ids=[profile.pk])
        rep = role_create(actor=admin, name="M-Rep", parent=manager, profile_ids=[profile.pk])
        junior = role_create(actor=admin, name="M-Junior", parent=rep, profile_ids=[profile.pk])
        support = role_create(actor=admin, name="M-Support", parent=ceo, profile_ids=[profile.pk])
        self.actors = {
            "owner": member(tenant, role=rep),
            "peer": member(tenant, role=rep),
            "superior": member(tenant, role=manager),
            "subordinate": member(tenant, role=junior),
            "outsider": member(tenant, role=support),
            "group_member": member(tenant, role=support),
        }
        self.group = group_save(actor=admin, group=None, name="M-Group", member_ids=[self.actors["group_member"].pk])
        self.admin = admin
        self.tokens = {name: api_token_create(member=m, name="matrix")[1] for name, m in self.actors.items()}

    def api(self, relation: str) -> Client:
        return Client(HTTP_HOST=host_of(self.tenant), HTTP_AUTHORIZATION=f"Token {self.tokens[relation]}")

    def record(self, module: str, relation: str) -> Any:
        """A record the relation applies to: owned by the group for "group_member", else by the owner."""
        spec = registry.get(module)
        data = dict(spec.example)
        if relation == "group_member":
            data |= {"owner": None, "owner_group": self.group.pk}
        else:
            data |= {"owner": self.actors["owner"].pk}
        return services.record_create(spec=spec, actor=self.admin, data=data)


@pytest.fixture
def world(tenant_a, admin_of, member):
    with schema_context(tenant_a.schema_name):
        yield World(tenant_a, admin_of(tenant_a), member)


def _service_rights(spec: Any, actor: Any, record: Any) -> dict[str, bool]:
    seen = selectors.access_record(spec=spec, actor=actor, record_id=record.pk) is not None
    rights = {"view": seen, "edit": False, "delete": False}
    if not seen:
        return rights
    for action in ("edit", "delete"):
        with transaction.atomic():
            try:
                if action == "edit":
                    services.record_update(spec=spec, actor=actor, record=record, data={"tags": ["matrix"]})
                else:
                    services.record_delete(spec=spec, actor=actor, record=record)
                rights[action] = True
            except PermissionDenied:
                rights[action] = False
            transaction.set_rollback(True)
    return rights


def _api_rights(world: World, spec: Any, relation: str, record: Any) -> dict[str, bool]:
    api = world.api(relation)
    url = f"/api/v1/{spec.key}/{record.pk}/"
    got = api.get(url)
    assert got.status_code in (200, 404), got.content
    rights = {"view": got.status_code == 200, "edit": False, "delete": False}
    with transaction.atomic():
        patched = api.patch(url, {"tags": ["matrix"]}, content_type="application/json")
        transaction.set_rollback(True)
    assert patched.status_code in (200, 403, 404), patched.content
    rights["edit"] = patched.status_code == 200
    with transaction.atomic():
        deleted = api.delete(url)
        transaction.set_rollback(True)
    assert deleted.status_code in (204, 403, 404), deleted.content
    rights["delete"] = deleted.status_code == 204
    # Something one may not see is "not found", never "forbidden" (no existence oracle).
    if not rights["view"]:
        assert (patched.status_code, deleted.status_code) == (404, 404)
    return rights


@pytest.mark.parametrize("default", DEFAULTS)
@pytest.mark.parametrize("module", SPECS)
def test_permission_matrix(world, module, default):
    if module == CONTRACT_MODULE:
        contract_module_create(world.tenant)
    spec = registry.get(module)
    sharing_default_set(actor=world.admin, module=module, access=default, superiors_see=True, follow_parent=False)
    expected = EXPECTED[default]
    wrong = []
    for relation in RELATIONS:
        record = world.record(module, relation)
        want = {action: relation in allowed for action, allowed in expected.items()}
        by_service = _service_rights(spec, world.actors[relation], record)
        by_api = _api_rights(world, spec, relation, record)
        if by_service != want:
            wrong.append(f"services {relation}: got {by_service}, want {want}")
        if by_api != want:
            wrong.append(f"API {relation}: got {by_api}, want {want}")
        # The list agrees with the detail.
        listed = {
            str(r.pk) for r in selectors.list_queryset(spec=spec, actor=world.actors[relation], default_view=False)
        }
        if (str(record.pk) in listed) != want["view"]:
            wrong.append(f"list {relation}: listed={str(record.pk) in listed}, want view={want['view']}")
    assert not wrong, "\n".join(wrong)


def test_superiors_see_subordinates_only_when_the_default_says_so(world):
    spec = registry.get("contacts")
    sharing_default_set(
        actor=world.admin, module="contacts", access="private", superiors_see=False, follow_parent=False
    )
    record = world.record("contacts", "owner")

    assert selectors.access_record(spec=spec, actor=world.actors["superior"], record_id=record.pk) is None
    assert selectors.access_record(spec=spec, actor=world.actors["owner"], record_id=record.pk) is not None


def test_visibility_applies_to_lists_search_and_counts_the_same_way(world):
    spec = registry.get("contacts")
    sharing_default_set(actor=world.admin, module="contacts", access="private", follow_parent=False)
    mine = services.record_create(
        spec=spec, actor=world.admin, data={"last_name": "Zyxwvut", "owner": world.actors["owner"].pk}
    )
    outsider = world.actors["outsider"]

    assert selectors.record_list(spec=spec, actor=outsider, search="Zyxwvut").records == []
    assert selectors.record_count(spec=spec, actor=outsider, search="Zyxwvut") == (0, True)
    assert all(g.spec.key != "contacts" for g in selectors.global_search(actor=outsider, text="Zyxwvut"))
    found = selectors.global_search(actor=world.actors["superior"], text="Zyxwvut")
    assert [r.pk for g in found if g.spec.key == "contacts" for r in g.records] == [mine.pk]


def test_admin_bypasses_private_defaults(world):
    spec = registry.get("deals")
    sharing_default_set(actor=world.admin, module="deals", access="private")
    record = world.record("deals", "owner")

    assert selectors.access_record(spec=spec, actor=world.admin, record_id=record.pk) is not None
    assert visibility.can_delete(actor=world.admin, spec=spec, record=record)


def test_view_all_and_edit_all_privileges(world):
    spec = registry.get("organizations")
    sharing_default_set(actor=world.admin, module="organizations", access="private")
    record = world.record("organizations", "owner")
    outsider = world.actors["outsider"]
    assert selectors.access_record(spec=spec, actor=outsider, record_id=record.pk) is None

    viewer = profile_save(actor=world.admin, profile=None, name="Viewer", flags={"view_all": True})
    outsider.role.profiles.add(viewer)
    from crm_apps.access.grants import access_changed

    access_changed()  # profiles.add() is not a service: tell the cache
    assert selectors.access_record(spec=spec, actor=outsider, record_id=record.pk) is not None
    assert not visibility.can_edit(actor=outsider, spec=spec, record=record)

    profile_save(actor=world.admin, profile=viewer, name="Viewer", flags={"view_all": True, "edit_all": True})
    assert visibility.can_edit(actor=outsider, spec=spec, record=record)


def test_module_rights_of_profiles_merge_most_permissive(world, tenant_a):
    from crm_apps.access.services import profile_set_modules, role_update

    spec = registry.get("vendors")
    outsider = world.actors["outsider"]
    matrix = Profile.objects.get(name="Matrix")
    profile_set_modules(actor=world.admin, profile=matrix, rights={"vendors": {"view": False}})
    api = world.api("outsider")
    assert api.get("/api/v1/vendors/").status_code == 403
    assert not visibility.can_create(actor=outsider, spec=spec)

    reader = profile_save(actor=world.admin, profile=None, name="Vendor reader", flags={"default_view": False})
    profile_set_modules(actor=world.admin, profile=reader, rights={"vendors": {"view": True}})
    role_update(actor=world.admin, role=outsider.role, name=outsider.role.name, profile_ids=[matrix.pk, reader.pk])
    assert api.get("/api/v1/vendors/").status_code == 200
    assert not visibility.can_create(actor=outsider, spec=spec)  # neither profile allows creating vendors
    created = api.post("/api/v1/vendors/", spec.example, content_type="application/json")
    assert created.status_code == 403
    with schema_context(tenant_a.schema_name):
        assert not spec.model.objects.filter(name=spec.example["name"], owner=outsider).exists()


def test_sharing_rules_open_records_read_only_or_read_write(world):
    from crm_apps.access.services import sharing_rule_create, sharing_rule_delete

    spec = registry.get("contacts")
    sharing_default_set(actor=world.admin, module="contacts", access="private", follow_parent=False)
    record = world.record("contacts", "owner")
    outsider = world.actors["outsider"]
    rep = world.actors["owner"].role
    support = outsider.role

    rule = sharing_rule_create(
        actor=world.admin,
        module="contacts",
        source_kind="role",
        source_id=rep.pk,
        target_kind="role",
        target_id=support.pk,
        access="read",
    )
    assert selectors.access_record(spec=spec, actor=outsider, record_id=record.pk) is not None
    assert not visibility.can_edit(actor=outsider, spec=spec, record=record)
    # A rule on another module opens nothing here.
    assert selectors.access_record(spec=registry.get("deals"), actor=outsider, record_id=record.pk) is None

    sharing_rule_delete(actor=world.admin, rule=rule)
    sharing_rule_create(
        actor=world.admin,
        module="contacts",
        source_kind="role_sub",
        source_id=world.actors["superior"].role.pk,
        target_kind="group",
        target_id=world.group.pk,
        access="read_write",
    )
    assert selectors.access_record(spec=spec, actor=outsider, record_id=record.pk) is None
    group_member = world.actors["group_member"]
    assert visibility.can_edit(actor=group_member, spec=spec, record=record)
    assert not visibility.can_delete(actor=group_member, spec=spec, record=record)


def test_nested_groups_and_role_members(world, member):
    spec = registry.get("leads")
    sharing_default_set(actor=world.admin, module="leads", access="private")
    record = world.record("leads", "group_member")  # owned by M-Group
    junior = world.actors["subordinate"]
    assert selectors.access_record(spec=spec, actor=junior, record_id=record.pk) is None

    outer = group_save(actor=world.admin, group=None, name="Outer", role_tree_ids=[junior.role.pk])
    group_save(
        actor=world.admin,
        group=world.group,
        name="M-Group",
        member_ids=[world.actors["group_member"].pk],
        subgroup_ids=[outer.pk],
    )
    assert selectors.access_record(spec=spec, actor=junior, record_id=record.pk) is not None
    with pytest.raises(Exception, match="cannot contain itself"):
        group_save(actor=world.admin, group=outer, name="Outer", subgroup_ids=[world.group.pk])


def test_contacts_follow_their_organisation(world):
    contacts, orgs = registry.get("contacts"), registry.get("organizations")
    sharing_default_set(actor=world.admin, module="contacts", access="private", follow_parent=True)
    sharing_default_set(actor=world.admin, module="organizations", access="private")
    outsider = world.actors["outsider"]
    org = services.record_create(spec=orgs, actor=world.admin, data={"name": "Outsider Ltd", "owner": outsider.pk})
    contact = services.record_create(
        spec=contacts,
        actor=world.admin,
        data={"last_name": "Followed", "organization": org.pk, "owner": world.actors["owner"].pk},
    )
    assert selectors.access_record(spec=contacts, actor=outsider, record_id=contact.pk) is not None
    assert visibility.can_edit(actor=outsider, spec=contacts, record=contact)
    assert selectors.access_record(spec=contacts, actor=world.actors["peer"], record_id=contact.pk) is None

    sharing_default_set(actor=world.admin, module="contacts", access="private", follow_parent=False)
    assert selectors.access_record(spec=contacts, actor=outsider, record_id=contact.pk) is None


def test_deactivated_member_sees_nothing(world):
    spec = registry.get("contacts")
    record = world.record("contacts", "owner")
    owner = world.actors["owner"]
    owner.active = False
    assert selectors.access_record(spec=spec, actor=owner, record_id=record.pk) is None
    assert not visibility.can_edit(actor=owner, spec=spec, record=record)


def test_every_access_change_is_audited(world):
    from crm_apps.access.services import sharing_rule_create, sharing_rule_delete
    from crm_apps.audit.models import AuditEvent

    before = AuditEvent.objects.filter(action="permission_changed").count()
    sharing_default_set(actor=world.admin, module="vendors", access="private")
    rule = sharing_rule_create(
        actor=world.admin,
        module="vendors",
        source_kind="group",
        source_id=world.group.pk,
        target_kind="role",
        target_id=world.actors["peer"].role.pk,
        access="read",
    )
    sharing_rule_delete(actor=world.admin, rule=rule)
    events = list(AuditEvent.objects.filter(action="permission_changed").order_by("-id")[:3])

    assert AuditEvent.objects.filter(action="permission_changed").count() == before + 3
    assert [e.details["operation"] for e in reversed(events)] == [
        "sharing_default_set",
        "sharing_rule_created",
        "sharing_rule_deleted",
    ]
    assert {e.actor_id for e in events} == {world.admin.pk}
    assert events[-1].details["access"] == "private" and events[-1].record_label == "vendors"


def test_explain_names_what_granted_access(world):
    from crm_apps.access.explain import access_explain
    from crm_apps.access.services import sharing_rule_create

    spec = registry.get("contacts")
    sharing_default_set(actor=world.admin, module="contacts", access="private", follow_parent=False)
    owned = world.record("contacts", "owner")
    grouped = world.record("contacts", "group_member")
    sharing_rule_create(
        actor=world.admin,
        module="contacts",
        source_kind="role",
        source_id=world.actors["owner"].role.pk,
        target_kind="role",
        target_id=world.actors["outsider"].role.pk,
        access="read",
    )

    def explain(relation, record):
        return access_explain(actor=world.admin, member=world.actors[relation], spec=spec, record=record)

    superior = explain("superior", owned)
    group = explain("group_member", grouped)
    shared = explain("outsider", owned)
    peer = explain("peer", owned)

    assert superior.can_view and any("below the member in the role hierarchy" in r for r in superior.reasons)
    assert group.can_edit and any("owned by the group" in r for r in group.reasons)
    assert shared.can_view and not shared.can_edit and any(r.startswith("Sharing rule") for r in shared.reasons)
    assert not peer.can_view and peer.reasons[-1].startswith("Nothing above opens this record")
    with pytest.raises(PermissionDenied):
        access_explain(actor=world.actors["owner"], member=world.actors["peer"], spec=spec, record=owned)
