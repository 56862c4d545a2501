from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.backup import backup_job_create, backup_job_run
from tenants.management.commands._lookup import tenant_by_slug
from tenants.models import BackupStatus


class Command(BaseCommand):
    help = (
        "Back up one tenant (its schema, its rows in public and its files) into a signed .tar.gz archive "
        "with per-table counts and checksums. Without --output the archive goes to TENANT_BACKUP_ROOT/archives/."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--output", help="Where to write the archive (a .tar.gz path).")
        parser.add_argument("--reason", default="", help="Why (kept with the operator log of backups).")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(options["slug"])
        output = Path(options["output"]).resolve() if options["output"] else None
        if output is not None and output.exists():
            raise CommandError(f"{output} exists already; choose another --output.")
        job = backup_job_create(actor=None, tenant=tenant, reason=options["reason"])
        job = backup_job_run(job_id=job.pk, output=output, echo=self.stdout.write)
        if job.status != BackupStatus.DONE:
            raise CommandError(f"Backup of {tenant.schema_name} failed: {job.error}")
        details = job.details
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up {tenant.schema_name}: {details['tables']} tables, {details['rows']} rows, "
                f"{details['files']['count']} files -> {output or job.archive} ({job.size} bytes, sha256 {job.sha256})"
            )
        )
