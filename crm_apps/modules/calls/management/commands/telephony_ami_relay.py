"""Relay Asterisk AMI call events to a tenant's telephony webhook, signed (crm_apps.modules.calls.ami)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from crm_apps.modules.calls import ami


class Command(BaseCommand):
    help = "Read Asterisk AMI events (TCP or a recorded stream file) and post them to the telephony webhook."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--url", required=True, help="https://<workspace>/api/v1/telephony/events")
        parser.add_argument("--secret-file", required=True, help="File holding the tenant's webhook secret")
        parser.add_argument("--file", help="A recorded AMI event stream to replay instead of connecting")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=5038)
        parser.add_argument("--username", default="")
        parser.add_argument("--password-file", help="File holding the AMI user's secret")
        parser.add_argument("--internal", default=ami.INTERNAL_DEFAULT, help="Regex of internal extension numbers")

    def handle(self, *args: Any, **options: Any) -> None:
        secret = _read(options["secret_file"])
        if options["file"]:
            with Path(options["file"]).open(encoding="utf-8", newline="") as stream:
                posted = ami.relay(
                    ami.ami_events(stream), url=options["url"], secret=secret, internal=options["internal"]
                )
        else:
            if not options["password_file"] or not options["username"]:
                raise CommandError("--username and --password-file are needed to connect to the AMI.")
            lines = ami.ami_socket_lines(
                host=options["host"],
                port=options["port"],
                username=options["username"],
                secret=_read(options["password_file"]),
            )
            posted = ami.relay(ami.ami_events(lines), url=options["url"], secret=secret, internal=options["internal"])
        self.stdout.write(f"Posted {posted} call events.")


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc}") from exc
