"""Email login with case-insensitive lookup."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from tenants.models import User


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
