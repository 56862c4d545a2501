"""Provisioning steps: what other apps add to a new (or restored) workspace, registered by those apps.

`tenants` sits below `billing`, `crm_apps.access` and `crm_apps.engine` (docs/adr/0017-import-layers.md),
so it cannot import them to seed a workspace. Each app registers its steps in its `AppConfig.ready()`
instead; `tenant_provision` and the backup restore run them, in `order`, inside their own transaction,
so a failing step rolls the whole workspace back.

A step runs either inside the new tenant's schema (`in_tenant_schema=True`: the first admin, the CRM
defaults) or in `public` afterwards (the trial subscription). `on_restore=True` steps also run when a
workspace is restored from a backup archive as a new tenant; the schema then already has its rows, so
only public-schema bookkeeping belongs there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tenants.models import Tenant, User


@dataclass(frozen=True)
class NewWorkspace:
    """What a step knows about the workspace being set up."""

    tenant: Tenant
    admin: User | None  # None on restore: the archive brings its own members
    language: str = "en"
    seats: int = 1
    restored: bool = False


@dataclass(frozen=True)
class ProvisioningStep:
    name: str
    order: int
    in_tenant_schema: bool
    on_restore: bool
    run: Callable[[NewWorkspace], None]


_steps: dict[str, ProvisioningStep] = {}


class DuplicateStep(ValueError):
    pass


def step_register(
    *, name: str, order: int, run: Callable[[NewWorkspace], None], in_tenant_schema: bool, on_restore: bool = False
) -> None:
    """Add a step; one name once (a second app claiming it is a programming error, refused at start-up)."""
    existing = _steps.get(name)
    if existing is not None and existing.run is not run:
        raise DuplicateStep(name)
    _steps[name] = ProvisioningStep(
        name=name, order=order, in_tenant_schema=in_tenant_schema, on_restore=on_restore, run=run
    )


def steps(*, in_tenant_schema: bool, restore: bool = False) -> list[ProvisioningStep]:
    """Registered steps for one phase, in order (ties broken by name so the order never depends on app order)."""
    chosen = [s for s in _steps.values() if s.in_tenant_schema == in_tenant_schema and (s.on_restore or not restore)]
    return sorted(chosen, key=lambda s: (s.order, s.name))


def steps_run(*, workspace: NewWorkspace, in_tenant_schema: bool) -> None:
    """Run one phase's steps for `workspace` (the caller holds the transaction and the schema)."""
    for step in steps(in_tenant_schema=in_tenant_schema, restore=workspace.restored):
        step.run(workspace)
