"""Writes of the tenancy layer: signup, provisioning, lifecycle, login hand-over."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context, schema_exists

from tenants.models import Domain, LoginHandover, Tenant, TenantStatus, User, normalize_email
from tenants.runtime import use_public_schema
from tenants.validators import validate_subdomain

ORGANIZATION_MAX = 100
NAME_MAX = 150
EMAIL_MAX = 254
PASSWORD_MAX = 128
HANDOVER_TTL = timedelta(seconds=60)
SIGNUP_FIELDS = ("organization", "subdomain", "name", "email", "password")


@dataclass(frozen=True)
class SignupResult:
    tenant: Tenant
    user: User
    url: str
    handover_url: str


def tenant_url(slug: str, path: str = "/") -> str:
    """The absolute URL of a path on a tenant's host."""
    port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""
    return f"{settings.PUBLIC_SCHEME}://{slug}.{settings.BASE_DOMAIN}{port}{path}"


def public_url(path: str = "/") -> str:
    port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""
    return f"{settings.PUBLIC_SCHEME}://{settings.BASE_DOMAIN}{port}{path}"


def _require_text(errors: dict[str, list[str]], field: str, value: object, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        errors.setdefault(field, []).append(_("This field is required."))
        return ""
    text = value.strip()
    if len(text) > max_length:
        errors.setdefault(field, []).append(
            _("Ensure this value has at most %(max)d characters (it has %(len)d).")
            % {"max": max_length, "len": len(text)}
        )
    return text


def signup_clean(
    *, organization: object, subdomain: object, name: object, email: object, password: object
) -> dict[str, str]:
    """Validate every signup field; raise one ValidationError naming each bad field."""
    errors: dict[str, list[str]] = {}
    organization_v = _require_text(errors, "organization", organization, ORGANIZATION_MAX)
    subdomain_v = _require_text(errors, "subdomain", subdomain, 63).lower()
    name_v = _require_text(errors, "name", name, NAME_MAX)
    email_v = normalize_email(_require_text(errors, "email", email, EMAIL_MAX))
    password_v = password if isinstance(password, str) else ""
    if not password_v:
        errors.setdefault("password", []).append(_("This field is required."))
    elif len(password_v) > PASSWORD_MAX:
        errors.setdefault("password", []).append(
            _("Ensure this value has at most %(max)d characters (it has %(len)d).")
            % {"max": PASSWORD_MAX, "len": len(password_v)}
        )

    if subdomain_v and "subdomain" not in errors:
        try:
            validate_subdomain(subdomain_v)
        except ValidationError as exc:
            errors["subdomain"] = list(exc.messages)
        else:
            if Tenant.objects.filter(schema_name=subdomain_v).exists() or schema_exists(subdomain_v):
                errors["subdomain"] = [_("This subdomain is already taken.")]
    if email_v and "email" not in errors:
        try:
            validate_email(email_v)
        except ValidationError:
            errors["email"] = [_("Enter a valid email address.")]

    existing = User.objects.filter(email__iexact=email_v).first() if "email" not in errors else None
    if password_v and "password" not in errors:
        if existing is not None:
            # An existing identity joins the new workspace only with its own password.
            if not existing.check_password(password_v) or not existing.is_active:
                errors["password"] = [_("An account with this email already exists; enter its password to continue.")]
        else:
            try:
                validate_password(password_v, User(email=email_v, name=name_v))
            except ValidationError as exc:
                errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    return {
        "organization": organization_v,
        "subdomain": subdomain_v,
        "name": name_v,
        "email": email_v,
        "password": password_v,
    }


def schema_create_and_migrate(*, schema_name: str) -> None:
    """Create a tenant schema and bring it to the latest migration (inside the caller's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema_name}"')
    call_command("migrate_schemas", tenant=True, schema_name=schema_name, interactive=False, verbosity=0)
    use_public_schema()


def tenant_provision(*, slug: str, name: str, admin: User, language: str = "en") -> Tenant:
    """Create the tenant row, its domain, its schema and its first admin, all or nothing.

    The tenant row is inserted first: a concurrent signup for the same slug blocks on the
    unique index and then fails, so it never creates a schema of its own.
    """
    from crm_apps.access.services import member_create
    from crm_apps.engine.defaults import crm_defaults_install

    use_public_schema()
    try:
        with transaction.atomic():
            tenant = Tenant(schema_name=slug, name=name)
            tenant.save()
            Domain.objects.create(domain=f"{slug}.{settings.BASE_DOMAIN}", tenant=tenant, is_primary=True)
            schema_create_and_migrate(schema_name=slug)
            with schema_context(slug):
                member_create(tenant=tenant, user=admin, is_admin=True, language=language)
                crm_defaults_install()
    except IntegrityError as exc:
        use_public_schema()
        raise ValidationError({"subdomain": [_("This subdomain is already taken.")]}) from exc
    return tenant


def tenant_signup(
    *, organization: object, subdomain: object, name: object, email: object, password: object
) -> SignupResult:
    """Self-service signup: validate, create or reuse the identity, provision, hand over the login."""
    data = signup_clean(organization=organization, subdomain=subdomain, name=name, email=email, password=password)
    try:
        with transaction.atomic():
            user = User.objects.filter(email__iexact=data["email"]).first()
            if user is None:
                user = User.objects.create_user(data["email"], data["password"], name=data["name"])
            tenant = tenant_provision(
                slug=data["subdomain"], name=data["organization"], admin=user, language=get_language() or "en"
            )
    except IntegrityError as exc:
        raise ValidationError({"email": [_("An account with this email was just created; try again.")]}) from exc
    key = handover_create(user=user, tenant=tenant)
    return SignupResult(
        tenant=tenant,
        user=user,
        url=tenant_url(tenant.schema_name),
        handover_url=tenant_url(tenant.schema_name, f"/auth/handover/{key}/"),
    )


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def handover_create(*, user: User, tenant: Tenant) -> str:
    """Issue a random single-use key (valid 60 s) that logs `user` in on `tenant`'s host."""
    key = secrets.token_urlsafe(32)
    LoginHandover.objects.create(
        key_hash=_hash(key), user=user, tenant=tenant, expires_at=timezone.now() + HANDOVER_TTL
    )
    return key


def handover_consume(*, key: str, tenant: Tenant) -> User | None:
    """Redeem a hand-over key for this tenant exactly once; None when unknown, used or expired."""
    now = timezone.now()
    claimed = LoginHandover.objects.filter(
        key_hash=_hash(key), tenant_id=tenant.pk, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if claimed != 1:
        return None
    handover = LoginHandover.objects.select_related("user").get(key_hash=_hash(key))
    return handover.user


def login_handovers_purge(*, older_than: timedelta = timedelta(hours=1)) -> int:
    """Delete hand-overs that expired more than `older_than` ago."""
    deleted, _details = LoginHandover.objects.filter(expires_at__lt=timezone.now() - older_than).delete()
    return deleted


def tenant_set_status(*, tenant: Tenant, status: str) -> Tenant:
    """Move a tenant to active / read_only / suspended."""
    if status not in TenantStatus.values:
        raise ValidationError({"status": [_("Unknown status.")]})
    tenant.status = status
    tenant.save(update_fields=["status"])
    return tenant


def tenant_delete(*, tenant: Tenant, drop_schema: bool) -> str | None:
    """Delete a tenant's rows. Its schema is dropped only when asked; otherwise it is renamed and kept.

    Returns the name of the kept schema (None when dropped).
    """
    schema = tenant.schema_name
    kept: str | None = None
    use_public_schema()
    with transaction.atomic():
        with connection.cursor() as cursor:
            if drop_schema:
                # Deferred FK checks of rows written in this transaction must fire before the drop.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            else:
                kept = f"deleted_{schema.replace('-', '_')}_{timezone.now():%Y%m%d%H%M%S}"[:63]
                cursor.execute(f'ALTER SCHEMA "{schema}" RENAME TO "{kept}"')
        Domain.objects.filter(tenant=tenant).delete()
        Tenant.objects.filter(pk=tenant.pk).delete()
    return kept
