from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from crm_apps.engine.defaults import crm_defaults_install
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Install missing CRM defaults (numbering, picklists, pipelines) in every tenant. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        for schema in Tenant.objects.values_list("schema_name", flat=True):
            with schema_context(schema):
                crm_defaults_install()
        self.stdout.write(self.style.SUCCESS("CRM defaults are installed in every tenant."))
