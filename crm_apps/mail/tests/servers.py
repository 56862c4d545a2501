"""Real mail servers for the tests: a private dovecot (IMAP) and an aiosmtpd sink (SMTP), both on loopback."""

from __future__ import annotations

import imaplib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

DOVECOT = "/usr/sbin/dovecot"
PASSWORD = "s3cret-Pa55"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dovecot:
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    users: list[str] = field(default_factory=list)

    def config(self) -> Path:
        return self.root / "dovecot.conf"

    def start(self, users: list[str]) -> None:
        self.users = users
        (self.root / "mail").mkdir(parents=True, exist_ok=True)
        (self.root / "run").mkdir(exist_ok=True)
        (self.root / "users").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}::::::\n" for u in users))
        uid, gid = os.getuid(), os.getgid()
        if uid == 0:
            # dovecot never delivers as root: the maildirs belong to its own unprivileged user.
            import pwd

            owner = pwd.getpwnam("dovecot")
            uid, gid = owner.pw_uid, owner.pw_gid
            os.chown(self.root / "mail", uid, gid)
        login_user = "dovenull" if os.getuid() == 0 else _whoami()
        internal = "dovecot" if os.getuid() == 0 else _whoami()
        self.config().write_text(
            f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 0
default_login_user = {login_user}
default_internal_user = {internal}
mail_location = maildir:{self.root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
        )
        if os.getuid() == 0:
            os.chmod(self.root, 0o755)
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config())], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"dovecot exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                    )
                time.sleep(0.1)
        raise RuntimeError("dovecot did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def imap(self, user: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port)
        conn.login(user, PASSWORD)
        return conn

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        conn = self.imap(user)
        try:
            if folder != "INBOX":
                conn.create(folder)
            typ, data = conn.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def recreate(self, user: str, folder: str) -> None:
        """Delete and create a folder again: a new UIDVALIDITY, the same messages appended again later."""
        conn = self.imap(user)
        try:
            conn.delete(folder)
            conn.create(folder)
        finally:
            conn.logout()

    def uids(self, user: str, folder: str = "INBOX") -> list[int]:
        conn = self.imap(user)
        try:
            conn.select(folder)
            _typ, data = conn.uid("SEARCH", "ALL")
            return [int(u) for u in (data[0] or b"").split()]
        finally:
            conn.logout()


def _whoami() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def dovecot_available() -> bool:
    return Path(DOVECOT).exists() and shutil.which("doveconf", path="/usr/bin:/usr/sbin") is not None


@dataclass
class Sink:
    """aiosmtpd collecting every message it receives."""

    port: int
    received: list[dict[str, Any]] = field(default_factory=list)
    controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                sink.received.append(
                    {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "data": bytes(envelope.content)}
                )
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def messages(self) -> list[Message]:
        return [message_from_bytes(r["data"], policy=policy.default) for r in self.received]


def raw_email(
    *,
    subject: str,
    sender: str,
    to: str,
    message_id: str,
    body: str = "Hello",
    in_reply_to: str = "",
    references: str = "",
    html: str = "",
    attachment: tuple[str, bytes] | None = None,
    date: str = "",
) -> bytes:
    import datetime as dt
    from email.message import EmailMessage
    from email.utils import format_datetime

    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = to
    msg["Message-ID"] = message_id
    msg["Date"] = date or format_datetime(dt.datetime.now(dt.UTC))
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    if attachment:
        msg.add_attachment(attachment[1], maintype="application", subtype="pdf", filename=attachment[0])
    return msg.as_bytes()
