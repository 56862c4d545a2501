from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tenants.management.commands._lookup import tenant_by_slug
from tenants.models import TenantStatus
from tenants.services import tenant_set_status


class Command(BaseCommand):
    help = "Make a suspended or read-only tenant active again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_set_status(tenant=tenant_by_slug(options["slug"]), status=TenantStatus.ACTIVE)
        self.stdout.write(self.style.SUCCESS(f"{tenant.schema_name} is now {tenant.status}."))
