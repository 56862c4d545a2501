"""Challenge tokens and webservice sessions, in the (tenant-prefixed) cache.

- A challenge is one per user, valid 5 minutes, and single-use: `login` consumes it whether or not the
  key matches, so a captured token cannot be replayed or guessed at.
- A session is bound to the tenant (its schema is stored and checked, on top of the tenant-prefixed
  key) and to the member; it lasts at most 24 hours and ends after 30 minutes idle, when the member is
  deactivated (session epoch) or rotates their access key (key generation).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from django.core.cache import cache

from crm_apps.access.models import Member
from crm_apps.vtiger.models import AccessKey
from crm_apps.vtiger.services import access_key_get
from tenants.models import normalize_email
from tenants.runtime import current_schema

CHALLENGE_TTL = 5 * 60
SESSION_IDLE = 30 * 60
SESSION_MAX = 24 * 60 * 60
TOUCH_EVERY = 60


def _challenge_key(email: str) -> str:
    return f"vtws:challenge:{hashlib.sha256(normalize_email(email).encode()).hexdigest()}"


def _session_key(name: str) -> str:
    return f"vtws:session:{hashlib.sha256(name.encode()).hexdigest()}"


def challenge_get(*, email: str) -> dict[str, Any]:
    """The user's current challenge (a new one when none is pending): {token, serverTime, expireTime}."""
    now = int(time.time())
    key = _challenge_key(email)
    stored = cache.get(key)
    if not stored or stored["expires"] <= now + 5:
        stored = {"token": secrets.token_hex(16), "expires": now + CHALLENGE_TTL}
        cache.set(key, stored, CHALLENGE_TTL)
    return {"token": stored["token"], "serverTime": now, "expireTime": stored["expires"]}


def challenge_consume(*, email: str) -> str | None:
    """The pending challenge token, removed (single use); None when there is none or it expired."""
    key = _challenge_key(email)
    stored = cache.get(key)
    cache.delete(key)
    if not stored or stored["expires"] <= int(time.time()):
        return None
    return str(stored["token"])


def expected_answer(*, token: str, access_key: str) -> str:
    return hashlib.md5((token + access_key).encode(), usedforsecurity=False).hexdigest()


def answer_matches(*, token: str, access_key: str, answer: str) -> bool:
    return hmac.compare_digest(expected_answer(token=token, access_key=access_key), str(answer or "").lower())


def session_open(*, member: Member) -> str:
    name = secrets.token_hex(16)
    now = int(time.time())
    generation = access_key_get(member=member).generation
    cache.set(
        _session_key(name),
        {
            "schema": current_schema(),
            "member": member.pk,
            "epoch": member.session_epoch,
            "generation": generation,
            "created": now,
        },
        SESSION_IDLE,
    )
    return name


def session_member(*, name: str) -> Member | None:
    """The active member whose live session this is, on this tenant; None otherwise. One cache read and
    one query per call; the idle time is renewed at most once a minute (one more cache write)."""
    if not name or len(name) > 100:
        return None
    key = _session_key(name)
    stored = cache.get(key)
    now = int(time.time())
    if not stored or stored.get("schema") != current_schema() or now - stored["created"] > SESSION_MAX:
        return None
    access = (
        AccessKey.objects.select_related("member__user", "member__role")
        .filter(member_id=stored["member"], member__active=True, member__user__is_active=True)
        .order_by()
        .first()
    )
    if access is None or access.member.session_epoch != stored["epoch"] or access.generation != stored["generation"]:
        cache.delete(key)
        return None
    if now - stored.get("touched", stored["created"]) >= TOUCH_EVERY:
        stored["touched"] = now
        cache.set(key, stored, min(SESSION_IDLE, SESSION_MAX - (now - stored["created"])))
    return access.member


def session_close(*, name: str) -> None:
    cache.delete(_session_key(name))
