"""Abuse checks of the public endpoint, cheapest first: origin, size, rate limits, honeypot, time to submit.

Rate limits count attempts in Redis (`saas.throttle.window_count`); when Redis is down they count nothing
and let the request through (the other checks and the engine's validation still apply), never a 500.
The time-to-submit token is signed with the secret key and bound to the form and its workspace, so it
cannot be forged nor reused for another form; it carries the time the form was rendered. For that check it
has no expiry (a pasted plain form must keep working; the honeypot and the rate limits cover replays); the
proof of work takes a token at most POW_MAX_AGE old and once, so form.js fetches a fresh one (token.json).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable

from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _

from crm_apps.modules.documents.services import max_upload_bytes
from crm_apps.webforms.models import Submission, WebForm
from crm_apps.webforms.services import MAX_UPLOADS, Rejected
from saas.throttle import window_count

HONEYPOT = "website_url"
TOKEN = "_ts"
POW_FIELD = "_pow"
# A proof of work is good for this long after the form was rendered, and once (remembered in Redis).
POW_MAX_AGE = 2 * 3600
logger = logging.getLogger(__name__)
HOUR = 3600
# Without files, a request is a few fields of text.
MAX_TEXT_BODY = 64 * 1024


def _signer() -> signing.TimestampSigner:
    """The render token's signer, bound to this workspace (its schema is in the salt): every tenant shares
    SECRET_KEY and form pks repeat across schemas, so a token of one workspace's form is refused by another's."""
    from tenants.runtime import current_schema

    return signing.TimestampSigner(salt=f"webforms.rendered:{current_schema()}")


# Captcha or proof-of-work providers: each check gets the form and the submitted values and says whether
# the sender passed (a provider calls its verification service here). None are installed by default, so a
# form works without any external call.
Challenge = Callable[[WebForm, dict[str, object]], bool]
_challenges: list[Challenge] = []


def challenge_add(check: Challenge) -> None:
    """Install a captcha/proof-of-work check (an app's `ready()`); every submission must pass all of them."""
    _challenges.append(check)


def challenge_remove(check: Challenge) -> None:
    _challenges.remove(check)


def challenge_check(form: WebForm, values: dict[str, object]) -> None:
    for check in list(_challenges):
        if not check(form, values):
            raise Rejected(Submission.Reason.CHALLENGE)


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def _pow_key(token: str) -> str:
    return "webforms:pow:" + hashlib.sha256(token.encode()).hexdigest()


def pow_check(form: WebForm, values: dict[str, object]) -> str | None:
    """The built-in proof of work (no external call): with `proof_of_work_bits` set, the sender sends the
    render token `_ts` (signed, for this form, at most POW_MAX_AGE old, not used by another submission)
    and a nonce `_pow` such that SHA-256("<token>:<nonce>") starts with that many zero bits. The browser
    finds it (embed.js, form.js; both fetch a fresh token first); the server checks it with one hash.
    Refused: a 400 logged as `challenge`.

    The token is claimed here, atomically (`cache.add`: of parallel replays only one passes); returns the
    claimed key so the caller can release it when the submission is refused later (a visitor may correct a
    field and send the same proof again). With Redis down the work is still checked, its reuse is not."""
    if not form.proof_of_work_bits:
        return None
    token = str(values.get(TOKEN) or "")
    nonce = str(values.get(POW_FIELD) or "")
    try:
        value = _signer().unsign(token, max_age=POW_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired included
        raise Rejected(Submission.Reason.CHALLENGE) from None
    if not _for_form(value, form) or not nonce.isdigit() or len(nonce) > 20:
        raise Rejected(Submission.Reason.CHALLENGE)
    if leading_zero_bits(hashlib.sha256(f"{token}:{nonce}".encode()).digest()) < form.proof_of_work_bits:
        raise Rejected(Submission.Reason.CHALLENGE)
    key = _pow_key(token)
    try:
        claimed = bool(cache.add(key, 1, timeout=POW_MAX_AGE + 60))
    except Exception:  # Redis down: the work was still done; the rate limits stay the bound
        logger.warning("webforms: cache unavailable, proof of work not checked for reuse", exc_info=True)
        return None
    if not claimed:
        raise Rejected(Submission.Reason.CHALLENGE)
    return key


def pow_release(key: str | None) -> None:
    """Give back a claimed proof whose submission was refused after the check (fails open without Redis)."""
    if not key:
        return
    try:
        cache.delete(key)
    except Exception:
        logger.warning("webforms: cache unavailable, proof of work not released", exc_info=True)


def token_for(form: WebForm) -> str:
    """A signed render token: the form's pk and a random part (two visitors in the same second get
    different tokens, as each token proves one submission only), with the time it was made."""
    return _signer().sign(f"{form.pk}.{secrets.token_urlsafe(8)}")


def _for_form(value: str, form: WebForm) -> bool:
    return value.split(".", 1)[0] == str(form.pk)


def own_origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def origin_allowed(form: WebForm, origin: str, request: HttpRequest) -> bool:
    """No Origin (a server, an old browser), our own host, or one the admin listed."""
    return not origin or origin == own_origin(request) or origin in form.allowed_origins


def body_limit(form: WebForm) -> int:
    uploads = sum(1 for f in form.fields if f.get("upload"))
    return MAX_TEXT_BODY + min(uploads, MAX_UPLOADS) * max_upload_bytes()


def size_check(form: WebForm, request: HttpRequest) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > body_limit(form):
        raise Rejected(Submission.Reason.TOO_LARGE, {"non_field_errors": [_("What you sent is too large.")]})


def rate_check(form: WebForm, ip: str | None) -> None:
    """Count this attempt per address and per form; over either limit -> Rejected with the seconds to wait."""
    count, left = window_count(f"webforms:ip:{form.pk}:{ip or '-'}", window=HOUR)
    if count > form.ip_limit_per_hour:
        raise Rejected(Submission.Reason.RATE_LIMITED, retry_after=left)
    count, left = window_count(f"webforms:form:{form.pk}", window=HOUR)
    if count > form.form_limit_per_hour:
        raise Rejected(Submission.Reason.RATE_LIMITED, retry_after=left)


def trap_check(form: WebForm, values: dict[str, object]) -> None:
    """The honeypot is invisible to people; only a robot fills it."""
    if str(values.get(HONEYPOT) or "").strip():
        raise Rejected(Submission.Reason.HONEYPOT)


def timing_check(form: WebForm, values: dict[str, object]) -> None:
    """A form sent sooner than the admin's minimum after it was rendered (or without a valid token, when a
    minimum is set) is a robot's."""
    if not form.min_seconds:
        return
    token = str(values.get(TOKEN) or "")
    try:
        value = _signer().unsign(token)
        rendered = signing.b62_decode(token.rsplit(":", 2)[1])
    except (signing.BadSignature, ValueError, IndexError):
        raise Rejected(Submission.Reason.TOO_FAST) from None
    if not _for_form(value, form) or time.time() - rendered < form.min_seconds:
        raise Rejected(Submission.Reason.TOO_FAST)
