from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "crm_apps.automation"
    label = "automation"
    verbose_name = _("Automation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.automation import listeners
        from crm_apps.automation.panels import automation_panel, panel_applies
        from crm_apps.engine import extensions
        from crm_apps.engine.spec import Panel

        listeners.connect()
        _scopes_register()
        # The record page of a module with approval processes or manual workflows: a pending approval and
        # the "run workflow" buttons (decided from the per-tenant memo: no query).
        extensions.record_panel_add(
            Panel(key="automation", template="automation/_panel.html", context=automation_panel, slot="top"),
            applies=panel_applies,
        )


def _scopes_register() -> None:
    """Extension tokens reach the automation API with `automation:read` (GET) / `automation:write`; an
    approver's decision is a write on the record, so it needs `automation:write` too. The member behind the
    token still needs the rights (administrator; an approver of the request)."""
    from crm_apps.access.api.scopes import feature_scope_register, route_scopes_register

    feature_scope_register("automation")
    read, write = ["automation:read"], ["automation:write"]
    for name in (
        "api-workflows",
        "api-workflow",
        "api-workflow-runs",
        "api-webhooks",
        "api-webhook",
        "api-webhook-deliveries",
        "api-approval-processes",
        "api-approval-process",
    ):
        route_scopes_register(name, read=read, write=write)
    for name in ("api-workflow-run", "api-workflow-test", "api-approval-decide"):
        route_scopes_register(name, write=write)
