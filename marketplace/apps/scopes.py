"""The scopes an app may ask for: the extension scopes (`<module>:read` / `<module>:write`) of the
modules defined in code. Enforcement per API route is `crm_apps.access.api.scopes` (shared with
extension tokens); this module only names and describes them for the toolkit and the consent screen."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from oauth2_provider.scopes import BaseScopes

from crm_apps.engine import registry


def scope_choices() -> list[tuple[str, str]]:
    """Every scope an app may request, with a sentence saying what it allows."""
    choices: list[tuple[str, str]] = []
    for spec in sorted(registry.builtin_specs(), key=lambda s: s.key):
        plural = str(spec.label_plural)
        choices.append((f"{spec.key}:read", _("Read %(things)s") % {"things": plural}))
        choices.append((f"{spec.key}:write", _("Read, create, change and delete %(things)s") % {"things": plural}))
    return choices


def scope_descriptions(scopes: list[str]) -> list[tuple[str, str]]:
    """(scope, sentence) for each of `scopes`, in the order given."""
    known = dict(scope_choices())
    return [(scope, known.get(scope, scope)) for scope in scopes]


class ModuleScopes(BaseScopes):
    """The toolkit's scopes backend: an app may hold only the scopes of its version in force (approved;
    in its partner's sandbox, the newest)."""

    def get_all_scopes(self) -> dict[str, str]:
        return dict(scope_choices())

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return application.in_force().scopes if application is not None else []

    def get_default_scopes(self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any) -> list[str]:
        return application.in_force().scopes if application is not None else []
