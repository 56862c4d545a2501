from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tenants.management.commands._lookup import tenant_by_slug
from tenants.models import TenantStatus
from tenants.services import tenant_set_status


class Command(BaseCommand):
    help = "Suspend a tenant: its users see a 'suspended' page; no data is touched."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--read-only", action="store_true", help="Make it read-only instead of suspended.")

    def handle(self, *args: Any, **options: Any) -> None:
        status = TenantStatus.READ_ONLY if options["read_only"] else TenantStatus.SUSPENDED
        tenant = tenant_set_status(tenant=tenant_by_slug(options["slug"]), status=status)
        self.stdout.write(self.style.SUCCESS(f"{tenant.schema_name} is now {tenant.status}."))
