from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from crm_apps.access.privileges import Privilege, is_tenant_admin


class IsTenantMember(BasePermission):
    """An active member of the request's tenant (session or token)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and getattr(request._request, "member", None))


class IsTenantAdmin(IsTenantMember):
    def has_permission(self, request: Request, view: Any) -> bool:
        member = getattr(request._request, "member", None)
        return super().has_permission(request, view) and member is not None and is_tenant_admin(member)


class CanManageSettings(IsTenantMember):
    """Admins and members whose profiles grant "manage module settings"."""

    def has_permission(self, request: Request, view: Any) -> bool:
        from crm_apps.access.visibility import has_privilege

        member = getattr(request._request, "member", None)
        return (
            super().has_permission(request, view)
            and member is not None
            and has_privilege(actor=member, privilege=Privilege.MANAGE_SETTINGS)
        )
