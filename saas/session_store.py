"""Django's database sessions, with the lookup every signed-in request makes compiled once per process
(saas/prepared.py; issue 25). Everything else (saving, cycling keys, deleting, expiry) is Django's."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from saas.prepared import Prepared

_live_by_key: Prepared[Session] = Prepared(
    lambda session_key, now: Session.objects.filter(session_key=session_key, expire_date__gt=now).order_by()[:1],
    {"session_key": "prepared-sample-session-key", "now": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)},
)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Any:
        found = _live_by_key.first(session_key=self.session_key, now=timezone.now())
        if found is None:
            self._session_key = None  # as Django's: an unknown or expired key is never reused
        return found
