"""manage.py vtiger_import <tenant> --url <webservice URL> --user <email> --access-key <key> [--as <admin email>]"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from crm_apps.access.models import Member
from crm_apps.vtiger.migration import SourceError, vtiger_import
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Import users, picklists, custom fields, records and comments from a vtiger webservice into a tenant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="the tenant's slug (schema name)")
        parser.add_argument("--url", required=True, help="the vtiger URL or its webservice.php")
        parser.add_argument("--user", required=True, help="the vtiger user name (email)")
        parser.add_argument("--access-key", required=True, help="that user's access key (My Preferences)")
        parser.add_argument(
            "--as", dest="actor", default="", help="the importing administrator's email (default: the first)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(schema_name=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}.")
        with schema_context(tenant.schema_name):
            admins = Member.objects.select_related("user").filter(is_admin=True, active=True).order_by("pk")
            actor = admins.filter(user__email__iexact=options["actor"]).first() if options["actor"] else admins.first()
            if actor is None:
                raise CommandError("No active administrator to import as.")
            try:
                result = vtiger_import(
                    actor=actor, url=options["url"], username=options["user"], access_key=options["access_key"]
                )
            except SourceError as exc:
                raise CommandError(f"The vtiger webservice refused: {exc}") from exc
        for module, counts in result["progress"]["modules"].items():
            self.stdout.write(f"{module}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        self.stdout.write(f"comments: {result['progress'].get('comments', 0)}")
        if result["report"]:
            self.stdout.write("Not mapped:")
            for line in result["report"]:
                self.stdout.write(f"  - {line}")
        self.stdout.write(json.dumps({"modules": result["progress"]["modules"]}))
