"""Second factors: TOTP, recovery codes, WebAuthn keys, remembered devices and the workspace policy.

Every check that can be guessed is counted by the views with the sign-in failure limit
(tenants/login_throttle.py); these functions only decide.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pyotp
import segno
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from tenants.mail import mail_enqueue
from tenants.mfa.models import RecoveryCode, RememberedDevice, TotpDevice, WebAuthnCredential, WorkspaceMfaPolicy

if TYPE_CHECKING:
    from tenants.models import Tenant, User

TOTP_ISSUER = "Kestrel CRM"
TOTP_INTERVAL = 30
RECOVERY_CODE_COUNT = 10
REMEMBER_DAYS = 30
REMEMBER_COOKIE = "kestrel_mfa_device"
KEY_NAME_MAX = 60
KEYS_MAX = 10


def _sha256(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


def _normalize_code(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())[:64]


# --- which factors a user has -------------------------------------------------------------------


def user_has_factor(user: User) -> bool:
    """A confirmed authenticator app or at least one security key."""
    return (
        TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()
        or WebAuthnCredential.objects.filter(user=user).exists()
    )


def user_factors(user: User) -> dict[str, Any]:
    totp = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    return {
        "totp": totp,
        "keys": list(WebAuthnCredential.objects.filter(user=user)),
        "recovery_left": RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
    }


def _notify(user: User, *, subject: str, what: str) -> None:
    """Tell the user by email that a factor was added or removed (someone else may have done it)."""
    mail_enqueue(
        to=[user.email],
        subject=subject,
        template="mfa/email/factor_changed.txt",
        context={"user": user, "what": what, "when": timezone.now()},
    )


# --- TOTP ---------------------------------------------------------------------------------------


def totp_begin(*, user: User) -> TotpDevice:
    """A new unconfirmed secret (a previous unconfirmed one is replaced); refused if one is in use."""
    device = TotpDevice.objects.filter(user=user).first()
    if device is not None and device.confirmed_at is not None:
        raise ValidationError(_("An authenticator app is already set up. Remove it first to add another."))
    if device is None:
        return TotpDevice.objects.create(user=user, secret=pyotp.random_base32())
    device.secret = pyotp.random_base32()
    device.created_at = timezone.now()
    device.save(update_fields=["secret", "created_at"])
    return device


def totp_uri(device: TotpDevice) -> str:
    return pyotp.TOTP(device.secret, interval=TOTP_INTERVAL).provisioning_uri(
        name=device.user.email, issuer_name=TOTP_ISSUER
    )


def qr_svg(data: str) -> str:
    """An inline SVG QR code (no script, no external image: allowed by the CSP)."""
    return str(segno.make(data, error="m").svg_inline(scale=5, border=2, dark="#111", light="#fff"))


def _totp_step(device: TotpDevice, code: str, at: float | None) -> int | None:
    """The time step the code belongs to (now, or one step either side for clock drift), else None."""
    code = _normalize_code(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(device.secret, interval=TOTP_INTERVAL)
    now = time.time() if at is None else at
    for offset in (0, -1, 1):
        moment = now + offset * TOTP_INTERVAL
        if hmac.compare_digest(totp.at(moment), code):
            return int(moment // TOTP_INTERVAL)
    return None


def totp_check(*, device: TotpDevice, code: str, at: float | None = None) -> bool:
    """A right code of a step later than the last one accepted: each code works once (no replay)."""
    step = _totp_step(device, code, at)
    if step is None:
        return False
    # The compare-and-set makes two concurrent uses of the same code accept only one.
    used = TotpDevice.objects.filter(pk=device.pk, last_step__lt=step).update(last_step=step)
    if used:
        device.last_step = step
    return bool(used)


@transaction.atomic
def totp_confirm(*, user: User, code: str, at: float | None = None) -> list[str] | None:
    """Confirm the pending secret with a code; returns new recovery codes when the user had none
    (shown once), [] when they already had some; raises ValidationError for a wrong code."""
    device = TotpDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=True).first()
    if device is None:
        raise ValidationError({"code": [_("Start again: scan a new QR code.")]})
    if not totp_check(device=device, code=code, at=at):
        raise ValidationError(
            {"code": [_("That code is not right. Check your phone's clock and try the newest code.")]}
        )
    device.confirmed_at = timezone.now()
    device.save(update_fields=["confirmed_at"])
    _notify(user, subject=_("An authenticator app was added to your account"), what=_("an authenticator app was added"))
    if RecoveryCode.objects.filter(user=user, used_at__isnull=True).exists():
        return []
    return recovery_codes_generate(user=user)


@transaction.atomic
def totp_remove(*, user: User) -> bool:
    deleted, _rows = TotpDevice.objects.filter(user=user).delete()
    if deleted:
        _notify(
            user,
            subject=_("An authenticator app was removed from your account"),
            what=_("the authenticator app was removed"),
        )
        _factors_gone_cleanup(user)
    return bool(deleted)


def _factors_gone_cleanup(user: User) -> None:
    """Without any factor, recovery codes and remembered devices mean nothing: remove them."""
    if not user_has_factor(user):
        RecoveryCode.objects.filter(user=user).delete()
        RememberedDevice.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


# --- recovery codes -----------------------------------------------------------------------------


def _recovery_new() -> str:
    raw = secrets.token_hex(5)  # 40 random bits, shown as xxxxx-xxxxx
    return f"{raw[:5]}-{raw[5:]}"


@transaction.atomic
def recovery_codes_generate(*, user: User) -> list[str]:
    """Ten new codes replace all previous ones; only their hashes are kept, so they are shown once."""
    RecoveryCode.objects.filter(user=user).delete()
    codes = [_recovery_new() for _i in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create([RecoveryCode(user=user, code_hash=_sha256(_normalize_code(c))) for c in codes])
    return codes


def recovery_code_use(*, user: User, code: str) -> bool:
    """Spend one code: true once, false for any later use or an unknown code."""
    normalized = _normalize_code(code)
    if len(normalized) != 10:
        return False
    used = RecoveryCode.objects.filter(user=user, code_hash=_sha256(normalized), used_at__isnull=True).update(
        used_at=timezone.now()
    )
    return bool(used)


# --- one entry point for a typed code ------------------------------------------------------------


def code_verify(*, user: User, code: str, at: float | None = None) -> str | None:
    """A code typed at a challenge: an authenticator code or a recovery code. Returns the method used
    ("totp" or "recovery") or None."""
    normalized = _normalize_code(code)
    if len(normalized) == 6 and normalized.isdigit():
        device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
        if device is not None and totp_check(device=device, code=normalized, at=at):
            return "totp"
        return None
    if recovery_code_use(user=user, code=normalized):
        return "recovery"
    return None


# --- WebAuthn -----------------------------------------------------------------------------------


def rp_id(host: str) -> str:
    """The relying party is the base domain: one key works on every workspace host and the public site,
    while the origin check ties each assertion to the host (and session) that asked for it. A base domain
    of one label (`localhost` in development) cannot be a relying party for its subdomains in browsers:
    there each host is its own relying party."""
    base = str(settings.BASE_DOMAIN)
    return base if "." in base else host.split(":")[0]


def webauthn_registration_options(*, user: User, host: str) -> tuple[str, bytes]:
    options = generate_registration_options(
        rp_id=rp_id(host),
        rp_name=TOTP_ISSUER,
        user_name=user.email,
        user_id=hashlib.sha256(f"kestrel-user:{user.pk}".encode()).digest()[:32],
        user_display_name=user.name or user.email,
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=bytes(key.credential_id))
            for key in WebAuthnCredential.objects.filter(user=user)
        ],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.DISCOURAGED,
        ),
    )
    return options_to_json(options), options.challenge


@transaction.atomic
def webauthn_register(
    *, user: User, name: str, credential: str, challenge: bytes, origin: str, host: str
) -> WebAuthnCredential:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": [_("Name the key, for example “Blue YubiKey”.")]})
    if len(name) > KEY_NAME_MAX:
        raise ValidationError({"name": [_("At most %(n)d characters.") % {"n": KEY_NAME_MAX}]})
    if WebAuthnCredential.objects.filter(user=user).count() >= KEYS_MAX:
        raise ValidationError({"name": [_("You have the most keys allowed. Remove one first.")]})
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id(host), expected_origin=origin
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise ValidationError({"credential": [_("The key's answer could not be verified. Try again.")]}) from exc
    id_hash = _sha256(verified.credential_id)
    if WebAuthnCredential.objects.filter(credential_id_hash=id_hash).exists():
        raise ValidationError({"credential": [_("This key is already registered.")]})
    try:
        transports = json.loads(credential).get("response", {}).get("transports", []) or []
    except (ValueError, AttributeError):
        transports = []
    key = WebAuthnCredential.objects.create(
        user=user,
        name=name,
        credential_id=verified.credential_id,
        credential_id_hash=id_hash,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[str(t) for t in transports][:8] if isinstance(transports, list) else [],
    )
    _notify(
        user,
        subject=_("A security key was added to your account"),
        what=_("the security key “%(name)s” was added") % {"name": name},
    )
    return key


def webauthn_authentication_options(*, user: User, host: str) -> tuple[str, bytes]:
    options = generate_authentication_options(
        rp_id=rp_id(host),
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=bytes(key.credential_id))
            for key in WebAuthnCredential.objects.filter(user=user)
        ],
        user_verification=UserVerificationRequirement.DISCOURAGED,
    )
    return options_to_json(options), options.challenge


def webauthn_authenticate(
    *, user: User, credential: str, challenge: bytes, origin: str, host: str
) -> WebAuthnCredential | None:
    """The user's key signed this session's challenge on this origin; None otherwise."""
    try:
        raw_id = json.loads(credential).get("rawId", "")
        from webauthn.helpers import base64url_to_bytes

        id_hash = _sha256(base64url_to_bytes(str(raw_id)))
    except (WebAuthnException, ValueError, AttributeError, TypeError):
        return None
    key = WebAuthnCredential.objects.filter(user=user, credential_id_hash=id_hash).first()
    if key is None:
        return None
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id(host),
            expected_origin=origin,
            credential_public_key=bytes(key.public_key),
            credential_current_sign_count=key.sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        return None
    key.sign_count = verified.new_sign_count
    key.last_used_at = timezone.now()
    key.save(update_fields=["sign_count", "last_used_at"])
    return key


@transaction.atomic
def webauthn_remove(*, user: User, key_id: int) -> WebAuthnCredential | None:
    key = WebAuthnCredential.objects.filter(user=user, pk=key_id).first()
    if key is None:
        return None
    key.delete()
    _notify(
        user,
        subject=_("A security key was removed from your account"),
        what=_("the security key “%(name)s” was removed") % {"name": key.name},
    )
    _factors_gone_cleanup(user)
    return key


# --- remembered devices -------------------------------------------------------------------------


def _remember_salt(scope: str) -> str:
    return f"tenants.mfa.remember:{scope}"


def remember_issue(*, user: User, scope: str, label: str) -> str:
    """Remember this browser on this host for 30 days; returns the signed cookie value."""
    secret = secrets.token_urlsafe(32)
    device = RememberedDevice.objects.create(
        user=user,
        scope=scope,
        secret_hash=_sha256(secret),
        label=label[:120],
        expires_at=timezone.now() + timedelta(days=REMEMBER_DAYS),
    )
    return signing.dumps({"d": device.pk, "u": user.pk, "k": secret}, salt=_remember_salt(scope), compress=True)


def remember_check(*, value: str, user: User, scope: str) -> RememberedDevice | None:
    """The cookie's device when it is genuine, for this user and this host, not expired nor revoked."""
    if not value:
        return None
    try:
        data = signing.loads(value, salt=_remember_salt(scope), max_age=timedelta(days=REMEMBER_DAYS))
    except signing.BadSignature:  # forged, of another host, or older than 30 days
        return None
    if not isinstance(data, dict) or data.get("u") != user.pk or not isinstance(data.get("d"), int):
        return None
    device = RememberedDevice.objects.filter(
        pk=data["d"], user=user, scope=scope, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).first()
    if device is None or not hmac.compare_digest(device.secret_hash, _sha256(str(data.get("k", "")))):
        return None
    RememberedDevice.objects.filter(pk=device.pk).update(last_used_at=timezone.now())
    return device


def remembered_devices(*, user: User) -> list[RememberedDevice]:
    return list(RememberedDevice.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()))


def remember_revoke(*, user: User, device_id: int | None = None) -> int:
    """Forget one remembered device of the user (or all of them): they are asked again."""
    rows = RememberedDevice.objects.filter(user=user, revoked_at__isnull=True)
    if device_id is not None:
        rows = rows.filter(pk=device_id)
    return rows.update(revoked_at=timezone.now())


# --- workspace policy ---------------------------------------------------------------------------


def workspace_mfa_required(tenant: Tenant | None) -> bool:
    if tenant is None or tenant.schema_name == "public":
        return False
    return WorkspaceMfaPolicy.objects.filter(tenant=tenant, required=True).exists()


def workspace_mfa_set(*, tenant: Tenant, required: bool) -> WorkspaceMfaPolicy:
    policy, _created = WorkspaceMfaPolicy.objects.update_or_create(
        tenant=tenant, defaults={"required": required, "changed_at": timezone.now()}
    )
    return policy
