"""`admin_view`: the one decorator for member-facing administration screens (crm_apps/access/privileges.py
states the rule).

    @admin_view                                   # tenant administrators only
    @admin_view(privilege=Privilege.MANAGE_SETTINGS)  # administrators and members whose profile grants it

Anonymous visitors go to sign-in; a signed-in member who may not gets 403 before the view runs. The view
receives the acting member as its second argument. Services check again: this only spares a page that
would end in PermissionDenied anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, overload

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege, is_tenant_admin
from crm_apps.access.visibility import has_privilege

R = TypeVar("R", bound=HttpResponseBase)
View = Callable[..., R]


def may_administer(actor: Member, privilege: Privilege | None) -> bool:
    """The admin_view rule: with a privilege, who holds it (administrators hold all); without, administrators."""
    if privilege is None:
        return is_tenant_admin(actor)
    return has_privilege(actor=actor, privilege=privilege)


@overload
def admin_view(view: View[R], *, privilege: None = None) -> View[R]: ...
@overload
def admin_view(view: None = None, *, privilege: Privilege | None = None) -> Callable[[View[R]], View[R]]: ...
def admin_view(view: Any = None, *, privilege: Privilege | None = None) -> Any:
    """Administrators (or holders of `privilege`) only; the view gets `(request, actor, ...)`."""

    def decorate(inner: View[R]) -> View[R]:
        @login_required
        @wraps(inner)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> R:
            actor = request_member(request)
            if not may_administer(actor, privilege):
                raise PermissionDenied
            return inner(request, actor, *args, **kwargs)

        return wrapper

    return decorate if view is None else decorate(view)
