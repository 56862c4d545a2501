"""Create a platform operator (a staff superuser of the operator console at /admin/).

Production: `manage.py operator_create ops@example.com --name "Ops"` asks for the password twice (or reads
it from the OPERATOR_PASSWORD environment variable in automation), checks it against the password
rules, and refuses an address that already has an account. Development: `--demo` creates (once) the
embedded setup's operator printed by `make run`; it refuses to run unless DEBUG is on.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import User, normalize_email

DEMO_OPERATOR_EMAIL = "operator@example.com"
DEMO_OPERATOR_PASSWORD = "operator-demo-2026"


class Command(BaseCommand):
    help = "Create a platform operator (staff superuser of /admin/); --demo makes the development one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", nargs="?", default="")
        parser.add_argument("--name", default="Operator")
        parser.add_argument("--demo", action="store_true", help="Development only: the demo operator, once.")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["demo"]:
            self._demo(quiet=options["quiet"])
            return
        email = normalize_email(options["email"] or "")
        if not email:
            raise CommandError("Give the operator's email address (or --demo in development).")
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"{email} already has an account; an operator needs its own.")
        password = os.environ.get("OPERATOR_PASSWORD") or self._ask_password()
        user = User(email=email, name=options["name"])
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        User.objects.create_superuser(email, password, name=options["name"])
        self.stdout.write(self.style.SUCCESS(f"Operator {email} created; sign in at /admin/."))

    def _ask_password(self) -> str:
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The passwords do not match.")
        return first

    def _demo(self, *, quiet: bool) -> None:
        if not settings.DEBUG:
            raise CommandError("--demo is for development (DEBUG on) only.")
        user = User.objects.filter(email=DEMO_OPERATOR_EMAIL).first()
        if user is None:
            User.objects.create_superuser(DEMO_OPERATOR_EMAIL, DEMO_OPERATOR_PASSWORD, name="Demo operator")
        elif not (user.is_staff and user.is_superuser):
            raise CommandError(f"{DEMO_OPERATOR_EMAIL} exists and is not an operator; not changing it.")
        if not quiet:
            self.stdout.write(f"Demo operator: {DEMO_OPERATOR_EMAIL} / {DEMO_OPERATOR_PASSWORD}")
