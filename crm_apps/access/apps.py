from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from tenants.provisioning import NewWorkspace


class AccessConfig(AppConfig):
    name = "crm_apps.access"
    label = "access"
    verbose_name = _("Access")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from celery.signals import task_prerun

        from crm_apps.access import formats
        from crm_apps.access.grants import memo_clear
        from crm_apps.access.mfa import on_mfa_event
        from tenants import provisioning
        from tenants.mfa.signals import mfa_event

        mfa_event.connect(on_mfa_event, dispatch_uid="access-mfa-audit")

        # A task starts with no remembered grants, as a request does.
        formats.install()  # per-member date/time/number formats (access/formats.py)
        task_prerun.connect(memo_clear, dispatch_uid="access-grants-task-start", weak=False)

        provisioning.step_register(name="access.first_admin", order=10, run=_first_admin_create, in_tenant_schema=True)
        provisioning.step_register(
            name="access.builtin_labels", order=15, run=_builtin_labels_install, in_tenant_schema=True
        )


def _first_admin_create(workspace: NewWorkspace) -> None:
    from crm_apps.access.services import member_create

    if workspace.admin is not None:
        member_create(tenant=workspace.tenant, user=workspace.admin, is_admin=True, language=workspace.language)


def _builtin_labels_install(workspace: NewWorkspace) -> None:
    from crm_apps.access.builtin import access_builtin_labels_install

    access_builtin_labels_install(language=workspace.language)
