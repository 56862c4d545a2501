from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tenants.management.commands._lookup import tenant_by_slug
from tenants.services import tenant_delete


class Command(BaseCommand):
    help = (
        "Delete a tenant. Without --drop-schema its schema is kept under a 'deleted_…' name "
        "so the data can still be recovered; with it, the schema and all its data are dropped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--drop-schema", action="store_true", help="Irreversibly drop the schema and data.")

    def handle(self, *args: Any, **options: Any) -> None:
        kept = tenant_delete(tenant=tenant_by_slug(options["slug"]), drop_schema=options["drop_schema"])
        if kept:
            self.stdout.write(self.style.SUCCESS(f"Deleted {options['slug']}; its data is kept in schema {kept}."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Deleted {options['slug']} and dropped its schema."))
