from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import User
from tenants.services import tenant_signup, workspace_create


class Command(BaseCommand):
    help = (
        "Create a tenant with its schema and first admin (same rules as self-service signup). "
        "An existing account becomes the admin as it is; a new one needs --admin-password."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True, help="Organisation name")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-name", default="Administrator")
        parser.add_argument("--admin-password", default="", help="Needed when the email has no account yet")

    def handle(self, *args: Any, **options: Any) -> None:
        existing = User.objects.filter(email__iexact=options["admin_email"].strip()).first()
        try:
            if existing is not None:
                result = workspace_create(user=existing, organization=options["name"], subdomain=options["slug"])
            else:
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
