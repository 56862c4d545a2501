from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from tenants.provisioning import NewWorkspace


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenants import provisioning

        # Every new workspace, and one restored from an archive as a new tenant, starts on a trial.
        provisioning.step_register(
            name="billing.trial", order=10, run=_trial_start, in_tenant_schema=False, on_restore=True
        )


def _trial_start(workspace: NewWorkspace) -> None:
    from billing.services import subscription_start_trial

    if workspace.tenant.is_sandbox:  # a partner's sandbox is never billed (marketplace/apps/sandbox.py)
        return
    subscription_start_trial(tenant=workspace.tenant, seats=workspace.seats)
