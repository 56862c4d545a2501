from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.pool import pool_status, tenant_pool_drain, tenant_pool_fill


class Command(BaseCommand):
    help = (
        "The warm pool of pre-migrated tenant schemas (ADR 0008): show it, fill it now (the Celery task "
        "does it every minute), or drop every unclaimed schema."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fill",
            nargs="?",
            type=int,
            const=-1,
            default=None,
            metavar="N",
            help="Bring the pool to N ready schemas (default TENANT_POOL_SIZE) and create the template.",
        )
        parser.add_argument("--drain", action="store_true", help="Drop every unclaimed pool schema and the template.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["fill"] is not None and options["drain"]:
            raise CommandError("--fill or --drain, not both.")
        if options["fill"] is not None:
            target = settings.TENANT_POOL_SIZE if options["fill"] < 0 else options["fill"]
            created = tenant_pool_fill(target=target)
            if created is None:
                raise CommandError("Another filler is running; try again when it is done.")
            self.stdout.write(self.style.SUCCESS(f"Created {created} pool schema(s)."))
        if options["drain"]:
            self.stdout.write(self.style.SUCCESS(f"Dropped {tenant_pool_drain()} pool schema(s)."))
        status = pool_status()
        self.stdout.write(
            f"ready {status['ready']} (target {settings.TENANT_POOL_SIZE}), stale {status['stale']}, "
            f"template {status['template']}, claimed in the last 24 hours {status['claimed_24h']}"
        )
