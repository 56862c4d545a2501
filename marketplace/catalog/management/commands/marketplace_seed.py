from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from marketplace.catalog.first_party import PARTNER_EMAIL, PARTNER_PASSWORD, first_party_publish


class Command(BaseCommand):
    help = "Publish the first-party extensions (marketplace/extensions/) under the demo partner; idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        listings = first_party_publish()
        if not options["quiet"]:
            names = ", ".join(listing.name for listing in listings)
            self.stdout.write(f"Extensions: {names}; partner portal login {PARTNER_EMAIL} / {PARTNER_PASSWORD}")
