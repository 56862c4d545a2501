"""Writes of the tenancy layer: signup, provisioning, lifecycle, login hand-over."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import unicodedata
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

from saas.cache_versions import versions_reset
from saas.throttle import throttle_exceeded, throttle_hit
from tenants import provisioning
from tenants.models import Domain, LoginHandover, Tenant, TenantStatus, User, normalize_email
from tenants.pool import pool_refill_after_commit, pool_schema_claim, pool_template_clone
from tenants.runtime import domains_changed, domains_changed_on_commit, use_public_schema
from tenants.validators import SUBDOMAIN_MAX, SUBDOMAIN_MIN, validate_subdomain

logger = logging.getLogger(__name__)
ORGANIZATION_MAX = 100
NAME_MAX = 150
EMAIL_MAX = 254
PASSWORD_MAX = 128
HANDOVER_TTL = timedelta(seconds=60)
SIGNUP_LIMIT = 20  # attempts per address per hour (HTML and API together)
SIGNUP_WINDOW = 60 * 60
SIGNUP_FIELDS = ("organization", "subdomain", "name", "email", "password", "language")


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


def text_problem(value: str) -> str | None:
    """Why a text cannot be stored (PostgreSQL refuses NUL; lone surrogates are not valid UTF-8)."""
    if "\x00" in value:
        return _("Null characters are not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("This text contains invalid characters.")
    return None


def _require_text(errors: dict[str, list[str]], field: str, value: object, max_length: int) -> str:
    if value is not None and not isinstance(value, str):
        errors.setdefault(field, []).append(_("Enter text."))
        return ""
    if not isinstance(value, str) or not value.strip():
        errors.setdefault(field, []).append(_("This field is required."))
        return ""
    problem = text_problem(value)
    if problem:
        errors.setdefault(field, []).append(problem)
        return ""
    text = value.strip()
    if len(text) > max_length:
        errors.setdefault(field, []).append(
            _("Ensure this value has at most %(max)d characters (it has %(len)d).")
            % {"max": max_length, "len": len(text)}
        )
    return text


def _workspace_errors(errors: dict[str, list[str]], organization: object, subdomain: object) -> tuple[str, str]:
    organization_v = _require_text(errors, "organization", organization, ORGANIZATION_MAX)
    subdomain_v = _require_text(errors, "subdomain", subdomain, 63).lower()
    if subdomain_v and "subdomain" not in errors:
        try:
            validate_subdomain(subdomain_v)
        except ValidationError as exc:
            errors["subdomain"] = list(exc.messages)
        else:
            if Tenant.objects.filter(schema_name=subdomain_v).exists() or schema_exists(subdomain_v):
                errors["subdomain"] = [_("This subdomain is already taken.")]
    return organization_v, subdomain_v


def workspace_clean(*, organization: object, subdomain: object) -> dict[str, str]:
    """Validate the organisation name and subdomain of a new workspace."""
    errors: dict[str, list[str]] = {}
    organization_v, subdomain_v = _workspace_errors(errors, organization, subdomain)
    if errors:
        raise ValidationError(errors)
    return {"organization": organization_v, "subdomain": subdomain_v}


def language_clean(errors: dict[str, list[str]], language: object) -> str:
    """The workspace language: one of settings.LANGUAGES; when not given, the language of the request."""
    codes = [code for code, _label in settings.LANGUAGES]
    if language is None or language == "":
        current = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
        return current if current in codes else settings.LANGUAGE_CODE
    if not isinstance(language, str) or language not in codes:
        errors["language"] = [_("Choose one of the available languages: %(codes)s.") % {"codes": ", ".join(codes)}]
        return settings.LANGUAGE_CODE
    return language


def signup_clean(
    *,
    organization: object,
    subdomain: object,
    name: object,
    email: object,
    password: object,
    language: object = None,
) -> dict[str, str]:
    """Validate every signup field; raise one ValidationError naming each bad field."""
    errors: dict[str, list[str]] = {}
    organization_v, subdomain_v = _workspace_errors(errors, organization, subdomain)
    language_v = language_clean(errors, language)
    name_v = _require_text(errors, "name", name, NAME_MAX)
    email_v = normalize_email(_require_text(errors, "email", email, EMAIL_MAX))
    password_v = password if isinstance(password, str) else ""
    if password is not None and not isinstance(password, str):
        errors.setdefault("password", []).append(_("Enter text."))
    elif not password_v:
        errors.setdefault("password", []).append(_("This field is required."))
    elif text_problem(password_v):
        errors.setdefault("password", []).append(text_problem(password_v) or "")
    elif len(password_v) > PASSWORD_MAX:
        errors.setdefault("password", []).append(
            _("Ensure this value has at most %(max)d characters (it has %(len)d).")
            % {"max": PASSWORD_MAX, "len": len(password_v)}
        )
    if email_v and "email" not in errors:
        try:
            validate_email(email_v)
        except ValidationError:
            errors["email"] = [_("Enter a valid email address.")]
    if email_v and "email" not in errors and User.objects.filter(email__iexact=email_v).exists():
        # Never check an existing account's password here (that would be a password oracle):
        # members create further workspaces from inside a workspace they are signed in to.
        errors["email"] = [
            _(
                "An account with this email already exists. Sign in to one of your workspaces and create "
                "the new one from there."
            )
        ]
    if password_v and "password" not in errors and "email" not in errors:
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
        "language": language_v,
    }


def schema_create_and_migrate(*, schema_name: str) -> None:
    """Create a tenant schema and bring it to the latest migration (inside the caller's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema_name}"')
    call_command("migrate_schemas", tenant=True, schema_name=schema_name, interactive=False, verbosity=0)
    use_public_schema()


def tenant_provision(
    *, slug: str, name: str, admin: User, language: str = "en", sandbox: bool = False, plan_code: str = ""
) -> Tenant:
    """Create the tenant row, its domain, its schema, its first admin and its trial subscription, all or
    nothing.

    The schema is a claimed pool schema, renamed (tenants/pool.py); when none is ready, a copy of the
    pool's template schema, and without a usable template a new schema with every migration. The
    tenant row is inserted first: a concurrent signup for the same slug blocks on the unique index
    and then fails, so it never claims or creates a schema of its own.
    """
    use_public_schema()
    try:
        with transaction.atomic():
            tenant = Tenant(schema_name=slug, name=name, language=language, is_sandbox=sandbox, plan_code=plan_code)
            tenant.save()
            Domain.objects.create(domain=f"{slug}.{settings.BASE_DOMAIN}", tenant=tenant, is_primary=True)
            workspace = provisioning.NewWorkspace(tenant=tenant, admin=admin, language=language)
            # A ready pool schema, else a copy of the template, else every migration (ADR 0008).
            if not pool_schema_claim(schema_name=slug) and not pool_template_clone(schema_name=slug):
                schema_create_and_migrate(schema_name=slug)
            with schema_context(slug):
                versions_reset()  # a schema name used before never meets its old owner's cache entries
                # The first admin, the CRM defaults: registered by their apps (tenants/provisioning.py).
                provisioning.steps_run(workspace=workspace, in_tenant_schema=True)
            provisioning.steps_run(workspace=workspace, in_tenant_schema=False)  # the trial subscription
            transaction.on_commit(domains_changed)  # a host looked up (and missed) a moment ago now exists
            pool_refill_after_commit()
    except IntegrityError as exc:
        use_public_schema()
        raise ValidationError({"subdomain": [_("This subdomain is already taken.")]}) from exc
    return tenant


def tenant_signup(
    *,
    organization: object,
    subdomain: object,
    name: object,
    email: object,
    password: object,
    language: object = None,
) -> SignupResult:
    """Self-service signup of a new person: validate, create the identity, provision, hand over the login.

    The workspace's built-in values are created in `language` (the request's language when not given)."""
    data = signup_clean(
        organization=organization, subdomain=subdomain, name=name, email=email, password=password, language=language
    )
    try:
        with transaction.atomic():
            user = User.objects.create_user(data["email"], data["password"], name=data["name"])
            tenant = tenant_provision(
                slug=data["subdomain"], name=data["organization"], admin=user, language=data["language"]
            )
    except IntegrityError as exc:
        raise ValidationError({"email": [_("An account with this email was just created; try again.")]}) from exc
    return _signup_result(tenant, user)


def workspace_create(*, user: User, organization: object, subdomain: object, language: object = None) -> SignupResult:
    """A signed-in person creates another workspace, of which they become the first admin."""
    data = workspace_clean(organization=organization, subdomain=subdomain)
    errors: dict[str, list[str]] = {}
    language_v = language_clean(errors, language)
    if errors:
        raise ValidationError(errors)
    tenant = tenant_provision(slug=data["subdomain"], name=data["organization"], admin=user, language=language_v)
    return _signup_result(tenant, user)


def _signup_result(tenant: Tenant, user: User) -> SignupResult:
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
    domains_changed_on_commit()
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
        transaction.on_commit(lambda: tenant_leftovers_clear(schema=schema, kept=kept))
        transaction.on_commit(domains_changed)
    return kept


def tenant_leftovers_clear(*, schema: str, kept: str | None) -> None:
    """After a delete: cache entries go, files move with the kept schema (or go with a dropped one),
    so a future tenant with the same slug starts empty."""
    import shutil
    from pathlib import Path

    from django.core.cache import cache

    try:
        client = cache._cache.get_client()  # type: ignore[attr-defined]
        keys = list(client.scan_iter(match=f"{schema}:*", count=1000))
        if keys:
            client.delete(*keys)
    except Exception:
        logger.exception("could not clear the cache of deleted tenant %s", schema)
    from django.core.files.storage import default_storage

    with schema_context(schema):
        files = Path(default_storage.path(""))  # where this tenant's storage really writes
    if files.exists():
        if kept:
            files.rename(files.parent / kept)
        else:
            shutil.rmtree(files)


def signup_attempt_allowed(*, client_ip: str) -> bool:
    """Count a signup attempt from this address; False once it made SIGNUP_LIMIT in the last hour."""
    keys = [f"signup:ip:{client_ip}"]
    if throttle_exceeded(keys, limit=SIGNUP_LIMIT):
        return False
    throttle_hit(keys, window=SIGNUP_WINDOW)
    return True


# Live subdomain checks of the signup form: each answers what a signup attempt would ("taken"), so they
# are limited per address like signups, with room for typing.
SUBDOMAIN_CHECK_LIMIT = 300
_CYRILLIC_LATIN = (
    "а a|б b|в v|г g|д d|е e|ё e|ж zh|з z|и i|й y|к k|л l|м m|н n|о o|п p|р r|с s|т t|у u|ф f|х kh|ц ts|"
    "ч ch|ш sh|щ shch|ъ |ы y|ь |э e|ю yu|я ya|і i|ї yi|є ye|ґ g"
)
CYRILLIC = {pair[0]: pair[2:] for pair in _CYRILLIC_LATIN.split("|")}


def subdomain_check_allowed(*, client_ip: str) -> bool:
    """Count a live check from this address; False once it made SUBDOMAIN_CHECK_LIMIT in the last hour."""
    keys = [f"subdomain-check:ip:{client_ip}"]
    if throttle_exceeded(keys, limit=SUBDOMAIN_CHECK_LIMIT):
        return False
    throttle_hit(keys, window=SIGNUP_WINDOW)
    return True


def subdomain_slugify(organization: str) -> str:
    """An organisation name as a subdomain: Cyrillic transliterated, accents dropped, lowercase and
    hyphens, at most SUBDOMAIN_MAX characters ("ООО «Рога и копыта»" -> "ooo-roga-i-kopyta")."""
    text = "".join(CYRILLIC.get(ch, ch) for ch in organization.lower())
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return slug[:SUBDOMAIN_MAX].strip("-")


def subdomain_problem(subdomain: str) -> str | None:
    """Why a subdomain cannot be signed up for (the message signup would give), or None when it is free."""
    try:
        validate_subdomain(subdomain)
    except ValidationError as exc:
        return exc.messages[0]
    if Tenant.objects.filter(schema_name=subdomain).exists() or schema_exists(subdomain):
        return _("This subdomain is already taken.")
    return None


def subdomain_suggest(*, organization: str) -> str:
    """A free subdomain for an organisation name: its slug, else the slug with -2, -3... (empty when the
    name gives nothing usable)."""
    base = subdomain_slugify(organization)
    if len(base) < SUBDOMAIN_MIN:
        base = f"{base}-crm".strip("-") if base else ""
    if not base:
        return ""
    for number in range(1, 20):
        suffix = "" if number == 1 else f"-{number}"
        candidate = base[: SUBDOMAIN_MAX - len(suffix)].strip("-") + suffix
        if subdomain_problem(candidate) is None:
            return candidate
    return ""


FIND_LIMIT = 5
FIND_WINDOW = 60 * 60


def workspaces_email_send(*, email: str) -> None:
    """Email someone the sign-in links of their active workspaces (at most 5 emails an hour per address);
    nothing is sent, and nothing different happens, for an unknown address."""
    from tenants.mail import mail_enqueue
    from tenants.selectors import workspaces_for_email

    keys = [f"find-workspaces:{email}"]
    if throttle_exceeded(keys, limit=FIND_LIMIT):
        return
    throttle_hit(keys, window=FIND_WINDOW)
    memberships = list(workspaces_for_email(email=email))
    if not memberships:
        return
    mail_enqueue(
        to=[email],
        subject=_("Your workspaces"),
        template="public/email/workspaces.txt",
        context={
            "workspaces": [
                {"name": m.tenant.name, "url": tenant_url(m.tenant.schema_name, "/accounts/login/")}
                for m in memberships
            ],
            "site_url": public_url(),
        },
    )
