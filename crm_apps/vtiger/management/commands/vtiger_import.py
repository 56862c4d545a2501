"""manage.py vtiger_import <tenant> --url <webservice URL> --user <email> --access-key <key> [--as <admin email>]
manage.py vtiger_import <tenant> --from-mysql mysql://user:password@host/database --storage <vtiger storage dir>"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from crm_apps.access.models import Member
from crm_apps.vtiger.migration import MigrationSource, Source, SourceError, vtiger_import_from
from crm_apps.vtiger.mysql_source import MysqlSource
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Import users, roles, profiles, groups, picklists, custom fields, records, comments and documents from a "
        "vtiger webservice or database into a tenant."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="the tenant's slug (schema name)")
        parser.add_argument("--url", default="", help="the vtiger URL or its webservice.php")
        parser.add_argument("--user", default="", help="the vtiger user name (email)")
        parser.add_argument("--access-key", default="", help="that user's access key (My Preferences)")
        parser.add_argument(
            "--from-mysql",
            dest="mysql",
            default="",
            help="read the vtiger database instead: mysql://user[:password]@host[:port]/database",
        )
        parser.add_argument(
            "--storage", default="", help="with --from-mysql: vtiger's storage directory (document files)"
        )
        parser.add_argument(
            "--as", dest="actor", default="", help="the importing administrator's email (default: the first)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source: MigrationSource
        if options["mysql"]:
            if options["url"]:
                raise CommandError("Give either --url (the webservice) or --from-mysql (the database), not both.")
            try:
                source = MysqlSource(options["mysql"], options["storage"] or None)
            except SourceError as exc:
                raise CommandError(str(exc)) from exc
        elif options["url"] and options["user"] and options["access_key"]:
            source = Source(options["url"], options["user"], options["access_key"])
        else:
            raise CommandError("Give --url, --user and --access-key, or --from-mysql (and --storage).")
        tenant = Tenant.objects.filter(schema_name=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}.")
        with schema_context(tenant.schema_name):
            admins = Member.objects.select_related("user").filter(is_admin=True, active=True).order_by("pk")
            actor = admins.filter(user__email__iexact=options["actor"]).first() if options["actor"] else admins.first()
            if actor is None:
                raise CommandError("No active administrator to import as.")
            try:
                result = vtiger_import_from(actor=actor, source=source)
            except SourceError as exc:
                raise CommandError(f"The vtiger source refused: {exc}") from exc
        for module, counts in result["progress"]["modules"].items():
            self.stdout.write(f"{module}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        self.stdout.write(f"comments: {result['progress'].get('comments', 0)}")
        self.stdout.write(
            f"files: {result['progress'].get('files', 0)} ({result['progress'].get('file_bytes', 0)} bytes)"
        )
        if result["report"]:
            self.stdout.write("Not mapped:")
            for line in result["report"]:
                self.stdout.write(f"  - {line}")
        self.stdout.write(json.dumps({"modules": result["progress"]["modules"]}))
