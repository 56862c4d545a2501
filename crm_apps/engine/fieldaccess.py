"""Field-level access as the engine's screens and API apply it: hidden fields are left out of forms,
detail, list columns, filters, sorting, exports, timeline changes and API output; read-only fields
are shown but not editable. The rules come from the member's profiles (`crm_apps.access.visibility`);
the services refuse writes to such fields whatever the entry path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from crm_apps.access import visibility

if TYPE_CHECKING:
    from crm_apps.access.models import Member
    from crm_apps.engine.models import CustomField
    from crm_apps.engine.spec import ModuleSpec

CF = TypeVar("CF", bound="CustomField")


@dataclass(frozen=True)
class FieldRules:
    hidden: frozenset[str] = frozenset()
    readonly: frozenset[str] = frozenset()

    def shows(self, name: str) -> bool:
        return name not in self.hidden

    def visible(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if n not in self.hidden]

    def custom(self, fields: Iterable[CF]) -> list[CF]:
        return [f for f in fields if f"custom.{f.key}" not in self.hidden]

    def editable(self, name: str) -> bool:
        return name not in self.hidden and name not in self.readonly


def field_rules(*, actor: Member, spec: ModuleSpec) -> FieldRules:
    access = visibility.field_access(actor=actor, spec=spec)
    if not access:
        return FieldRules()
    return FieldRules(
        hidden=frozenset(n for n, a in access.items() if a == "hidden"),
        readonly=frozenset(n for n, a in access.items() if a == "readonly"),
    )
