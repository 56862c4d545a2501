"""Privileges are an enum (unknown names refused) and admin-only screens follow one rule (access/privileges.py)."""

from __future__ import annotations

import pathlib
import re

import pytest
from django.core.exceptions import PermissionDenied
from django_tenants.utils import tenant_context

from crm_apps.access.grants import PRIVILEGES
from crm_apps.access.models import Member, Profile, Role
from crm_apps.access.privileges import (
    Privilege,
    UnknownPrivilege,
    is_tenant_admin,
    privilege_of,
    require_tenant_admin,
)
from crm_apps.access.visibility import has_privilege

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_the_enum_names_exactly_the_profile_flags():
    flags = {f.name for f in Profile._meta.get_fields() if f.name in set(Privilege)}

    assert tuple(Privilege) == PRIVILEGES
    assert flags == set(Privilege)


def test_a_string_that_names_no_privilege_is_refused():
    assert privilege_of("can_export") is Privilege.CAN_EXPORT
    for bad in ("can_exprot", "", "VIEW_ALL", None, 3):
        with pytest.raises(UnknownPrivilege):
            privilege_of(bad)


def test_has_privilege_refuses_unknown_names_even_for_an_admin(tenant_a, admin_of):
    admin = admin_of(tenant_a)

    with tenant_context(tenant_a):
        assert has_privilege(actor=admin, privilege=Privilege.MANAGE_BILLING) is True
        with pytest.raises(UnknownPrivilege):
            has_privilege(actor=admin, privilege="manage_everything")  # type: ignore[arg-type]


def test_no_code_checks_a_privilege_by_a_bare_string():
    offenders = []
    for package in ("crm_apps", "billing", "marketplace", "tenants", "saas", "frontend"):
        for path in (ROOT / package).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            if re.search(r"privilege=[\"']", path.read_text()):
                offenders.append(str(path.relative_to(ROOT)))

    assert offenders == []


def test_an_inactive_admin_is_no_admin(tenant_a, member):
    active = member(tenant_a, is_admin=True)
    inactive = member(tenant_a, is_admin=True, active=False)

    assert (is_tenant_admin(active), is_tenant_admin(inactive)) == (True, False)
    with pytest.raises(PermissionDenied) as refused:
        require_tenant_admin(inactive, "Only administrators.")
    assert str(refused.value) == "Only administrators."


# Administrators only (no privilege named), and one screen a privilege opens (module settings).
ADMIN_ONLY = ["/settings/audit/", "/settings/access/roles/"]
MANAGE_SETTINGS = ["/settings/modules/"]
MANAGE_BILLING = ["/settings/billing/"]


def test_admin_screens_follow_one_rule(client_for, tenant_a, tenant_b, admin_of, member):
    # given a plain member, a member whose role grants every privilege without being admin, and the admin
    plain, privileged = member(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        Member.objects.filter(pk=privileged.pk).update(role=Role.objects.get(name="CEO"))
    admin, stranger = admin_of(tenant_a), admin_of(tenant_b)

    def status(who: Member | None, url: str) -> int:
        return client_for(tenant_a, who).get(url).status_code

    for url in ADMIN_ONLY:
        assert [status(w, url) for w in (None, stranger, plain, privileged, admin)] == [302, 302, 403, 403, 200], url
    for url in MANAGE_SETTINGS + MANAGE_BILLING:
        assert [status(w, url) for w in (None, stranger, plain, privileged, admin)] == [302, 302, 403, 200, 200], url
