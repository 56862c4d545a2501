"""The workspace's sessions, read together with the member they were recorded for (issue 25).

A signed-in page read its session row, then its member (with the user): two statements, two round trips to
PostgreSQL before any work. Every member session has its `MemberSession` row (written at sign-in and touched
while the session lives, crm_apps/access/sessions.py), so on a workspace's host one statement reads that
row with its member and user, and the session's data and expiry beside them. The session data is decoded
and checked exactly as Django's database store does; the member is only offered to the membership
middleware, which takes it when it belongs to the user the session names (and Django's `get_user` still
verifies the session against that user's password hash).

Where the statement finds nothing (a session without a member row: a sign-in page's anonymous session, a
user who is not a member here) and on the public host (console, partner portal: no member tables), the
session is read alone, as before.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from crm_apps.access.models import Member
from crm_apps.access.selectors import member_session_read
from saas.session_store import SessionStore as PlainSessionStore
from tenants.runtime import current_schema


class SessionStore(PlainSessionStore):
    # The member this session was recorded for, read with it (active or not, and not yet checked against the
    # user the session names: the membership middleware does both); None when the session was read alone.
    recorded_member: Member | None = None

    def _get_session_from_db(self) -> Any:
        self.recorded_member = None
        if current_schema() == get_public_schema_name() or not self.session_key:
            return super()._get_session_from_db()
        found = member_session_read(session_key=self.session_key)
        if found is None:
            return super()._get_session_from_db()
        data, expires = found.session_data, found.session_expires  # type: ignore[attr-defined]
        if data is None or expires is None or expires <= timezone.now():
            self._session_key = None  # as Django's: an unknown or expired key is never reused
            return None
        self.recorded_member = found.member
        return found  # Django's store reads `session_data` off what this returns: the annotation above
