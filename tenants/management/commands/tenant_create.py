from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.services import tenant_signup


class Command(BaseCommand):
    help = "Create a tenant with its schema and first admin (same rules as self-service signup)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True, help="Organisation name")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-name", default="Administrator")
        parser.add_argument("--admin-password", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = tenant_signup(
                organization=options["name"],
                subdomain=options["slug"],
                name=options["admin_name"],
                email=options["admin_email"],
                password=options["admin_password"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(self.style.SUCCESS(f"Created {result.tenant.schema_name}: {result.url}"))
