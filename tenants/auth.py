"""Email login with case-insensitive lookup."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from saas.prepared import Prepared
from tenants.models import User

# Every signed-in request loads its user: compiled once per process (saas/prepared.py).
_user_by_pk: Prepared[User] = Prepared(lambda pk: User.objects.filter(pk=pk).order_by()[:1], {"pk": -7_654_321})

# A user row this request has already read: the membership middleware reads the signed-in member together
# with its user in one statement, and Django's `get_user` (which still verifies the session against it) takes
# that row instead of reading it again (one statement less per signed-in page, issue 25).
_already_read: ContextVar[User | None] = ContextVar("tenants_auth_user_already_read", default=None)


@contextmanager
def user_already_read(user: User | None) -> Iterator[None]:
    """While inside, `EmailBackend.get_user` answers `user` (an active user's full row, read in this
    request) for its id instead of reading it."""
    token = _already_read.set(user)
    try:
        yield
    finally:
        _already_read.reset(token)


class EmailBackend(ModelBackend):
    """Authenticates a global user by email; tenant membership is enforced by the access app."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = username or kwargs.get("email")
        if not email or password is None:
            return None
        try:
            user = User.objects.get_by_natural_key(email)
        except User.DoesNotExist:
            User().set_password(password)  # equalise timing with an existing user
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        """ModelBackend's, with the lookup compiled once per process (or the row `user_already_read` names)."""
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        found = _already_read.get()
        user = found if found is not None and found.pk == pk else _user_by_pk.first(pk=pk)
        return user if user is not None and self.user_can_authenticate(user) else None
