"""Re-encrypt every mailbox credential of every workspace with the newest key of MAIL_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django_tenants.utils import schema_context

from crm_apps.mail.mailboxes import keys_rotate
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Re-encrypt mailbox credentials with the first key of MAIL_ENCRYPTION_KEYS (run after adding a key)."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for schema in Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
            with schema_context(schema):
                total += keys_rotate()
        self.stdout.write(f"re-encrypted={total}")
