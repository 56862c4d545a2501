from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from tenants.provisioning import NewWorkspace


class EngineConfig(AppConfig):
    name = "crm_apps.engine"
    label = "engine"
    verbose_name = _("CRM engine")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from celery.signals import task_prerun
        from django.db.models.signals import post_delete, post_save

        from billing import selectors as billing_selectors
        from crm_apps.engine import (
            checks,  # noqa: F401  (registers the system check)
            events,
            record_versions,
            registry,
            selectors,
        )
        from crm_apps.engine.metadata import metadata_cache_clear
        from crm_apps.engine.models import SavedView
        from tenants import provisioning

        # The plan's record limit counts every module's records.
        # One entry per table: the custom modules of a tenant share one (ADR 0016).
        billing_selectors.record_models_register(lambda: list(dict.fromkeys(s.model for s in registry.all_specs())))
        # Cached results over many records (the board's sums) are keyed by their modules' record stamps.
        events.listener_add(record_versions.records_changed)
        # Saved views are cached per member and module under the tenant's `views` version.
        post_save.connect(selectors.saved_views_changed, sender=SavedView, dispatch_uid="engine-saved-views-save")
        post_delete.connect(selectors.saved_views_changed, sender=SavedView, dispatch_uid="engine-saved-views-delete")
        # A task starts with no memoised metadata, as a request does.
        task_prerun.connect(metadata_cache_clear, dispatch_uid="engine-metadata-task-start", weak=False)
        provisioning.step_register(
            name="engine.crm_defaults", order=20, run=_crm_defaults_install, in_tenant_schema=True
        )


def _crm_defaults_install(workspace: NewWorkspace) -> None:
    from crm_apps.engine.defaults import crm_defaults_install

    crm_defaults_install(language=workspace.language)
