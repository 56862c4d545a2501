"""Global privileges (profile flags that are not about one module) and the one meaning of "administrator".

A privilege is a `Privilege`, never a bare string: `has_privilege(actor=..., privilege=Privilege.CAN_EXPORT)`.
A string that names no privilege is refused (`UnknownPrivilege`) instead of quietly answering False, so a
typo cannot turn into a permanently denied (or, negated, a permanently granted) check.

The rule for admin-only things, everywhere (views, API, services): an *administrator* is an active member
with `is_admin`; administrators hold every privilege. A screen or action that a privilege can open to
non-administrators names that privilege; one that names none is for administrators only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

if TYPE_CHECKING:
    from crm_apps.access.models import Member


class Privilege(StrEnum):
    """The profile flags `Profile.<value>` (one boolean column each)."""

    VIEW_ALL = "view_all"
    EDIT_ALL = "edit_all"
    CAN_IMPORT = "can_import"
    CAN_EXPORT = "can_export"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_BILLING = "manage_billing"


class UnknownPrivilege(ValueError):
    def __init__(self, name: object) -> None:
        super().__init__(f"Unknown privilege: {name!r}")


def privilege_of(name: object) -> Privilege:
    """`name` as a Privilege; UnknownPrivilege for anything that names none."""
    if isinstance(name, str):  # a Privilege is a str too
        try:
            return Privilege(name)
        except ValueError:
            pass
    raise UnknownPrivilege(name)


def is_tenant_admin(actor: Member) -> bool:
    """The one test of "administrator": an active member flagged admin (an inactive admin is nobody)."""
    return bool(actor.is_admin and actor.active)


def require_tenant_admin(actor: Member, message: str | None = None) -> None:
    """Services' guard for administrator-only actions: PermissionDenied (with `message`) for anyone else."""
    if not is_tenant_admin(actor):
        raise PermissionDenied(message) if message else PermissionDenied
