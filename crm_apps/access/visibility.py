"""The one place that decides which CRM records a member may see and change.

Every read path of the engine (lists, detail, search, related lists, kanban totals, exports, API)
goes through `visible_records`; writes ask `can_edit` / `can_delete`. Today every active member
sees and edits everything in their tenant; the access-control issue (roles, profiles, sharing
rules) fills these functions in without touching their callers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.db.models import Model, QuerySet

if TYPE_CHECKING:
    from crm_apps.access.models import Member
    from crm_apps.engine.spec import ModuleSpec

M = TypeVar("M", bound=Model)


def visible_records(*, actor: Member, spec: ModuleSpec, queryset: QuerySet[M]) -> QuerySet[M]:
    """Restrict `queryset` to the records of `spec` that `actor` may see."""
    if not actor.active:
        return queryset.none()
    return queryset


def can_create(*, actor: Member, spec: ModuleSpec) -> bool:
    return actor.active


def can_edit(*, actor: Member, spec: ModuleSpec, record: Model) -> bool:
    return actor.active


def can_delete(*, actor: Member, spec: ModuleSpec, record: Model) -> bool:
    return actor.active
