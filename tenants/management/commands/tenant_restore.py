from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.backup import backup_root, restore_job_create, restore_job_run
from tenants.models import BackupStatus


class Command(BaseCommand):
    help = (
        "Restore a tenant archive made by tenant_backup, either as a new tenant (--as-new <subdomain>) or over "
        "the tenant it came from (--overwrite; its current schema is kept as replaced_<slug>_<time>). The archive "
        "is verified (signature, counts, checksums, structure) before anything changes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive")
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--as-new", metavar="SUBDOMAIN", help="Restore as a new tenant with this subdomain.")
        target.add_argument("--overwrite", action="store_true", help="Replace the tenant the archive came from.")
        parser.add_argument("--reason", default="", help="Why (kept with the operator log of restores).")

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["archive"]).resolve()
        if not source.is_file():
            raise CommandError(f"No archive at {source}.")
        root = backup_root().resolve()
        if source.is_relative_to(root):
            archive = source
        else:  # keep the archive the operator log refers to beside the others
            archive = root / "uploads" / f"{uuid.uuid4().hex}.tar.gz"
            archive.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copyfile(source, archive)
        job = restore_job_create(
            actor=None,
            archive=archive,
            as_new=options["as_new"],
            overwrite=options["overwrite"],
            reason=options["reason"],
        )
        job = restore_job_run(job_id=job.pk, echo=self.stdout.write)
        if job.status != BackupStatus.DONE:
            raise CommandError(f"Restore refused: {job.error}")
        replaced = job.details.get("replaced_schema")
        message = f"Restored {job.details['source']} as {job.schema_name} ({job.details['rows']} rows verified)"
        if replaced:
            message += f"; the previous data is kept in schema {replaced}"
        if job.details.get("migrated"):
            message += "; migrated to the current version"
        self.stdout.write(self.style.SUCCESS(message + "."))
