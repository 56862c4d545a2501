"""Single sign-on for members: the workspace's provider settings, who a verified sign-in is (link by
subject, then by verified email, then just-in-time creation), the session it opens, and "SSO only".

Rules (docs/sso.md):
- Only a provider's *verified* email links or creates a member, and only in an allowed domain when the
  admin listed domains. A deactivated member stays out. A new member takes a seat: the plan's member
  limit refuses it with a clear message and creates nothing.
- The session is opened by `member_login` like every other sign-in, so this workspace's MFA gate
  (tenants/mfa) still applies: a member with a second factor is asked for it; the provider's own MFA
  claims are recorded in the audit trail, not trusted in its place.
- "SSO only" refuses password sign-ins (form and token API) to every member but the break-glass
  administrator, who keeps password + MFA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import entitlements
from crm_apps.access.middleware import member_login
from crm_apps.access.models import Member, Role
from crm_apps.access.privileges import require_tenant_admin
from crm_apps.access.services import member_create
from crm_apps.audit.services import LOGIN_FAILED, MEMBER_CHANGED, SETTINGS_CHANGED, audit_log
from crm_apps.sso.crypto import secret_encrypt
from crm_apps.sso.models import IdentityProvider, Protocol, SsoLink
from tenants.mfa.state import SSO_SIGNIN_KEY
from tenants.models import Tenant, User

SESSION_SSO_KEY = SSO_SIGNIN_KEY  # {"protocol", "provider"} of the sign-in that opened this session


class SsoLinkNeeded(Exception):
    """The identity's verified email names an existing member who has a password and no link yet: the
    provider is whatever this workspace's administrators configured, so its word about the email is not
    enough; the member confirms with their password once (`sso_link_confirm`)."""

    def __init__(self, member: Member) -> None:
        super().__init__(member.user.email)
        self.member = member


class SsoRefused(Exception):
    """A sign-in the rules refuse; `message` is shown on the sign-in page, `reason` goes to the audit."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    """What a provider vouched for, after its signature, audience, times and nonce/replay were checked."""

    protocol: str
    subject: str
    email: str
    email_verified: bool
    name: str = ""
    mfa: str = ""  # the provider's statement about how the person authenticated (amr/acr/AuthnContext)


def provider_get() -> IdentityProvider | None:
    """This workspace's provider, enabled or not."""
    return IdentityProvider.objects.select_related("jit_role", "break_glass__user").first()


def provider_enabled() -> IdentityProvider | None:
    provider = provider_get()
    return provider if provider is not None and provider.enabled else None


# Fields whose changes are audited by name (values are shown, except the client secret's).
AUDITED_FIELDS = (
    "protocol",
    "name",
    "enabled",
    "oidc_discovery_url",
    "oidc_issuer",
    "oidc_authorization_endpoint",
    "oidc_token_endpoint",
    "oidc_jwks_uri",
    "oidc_client_id",
    "saml_metadata_url",
    "saml_entity_id",
    "jit_enabled",
    "jit_role_id",
    "allowed_domains",
    "sso_only",
    "break_glass_id",
)


@transaction.atomic
def provider_save(*, actor: Member, values: dict[str, Any], client_secret: str = "") -> IdentityProvider:
    """Administrators set the workspace's provider. `values` are already typed by the form; protocol
    details were fetched and parsed by the caller (oidc.discovery_apply / saml.metadata_apply). An empty
    `client_secret` keeps the stored one. "SSO only" needs an enabled provider and an active
    administrator as break-glass account."""
    require_tenant_admin(actor)
    provider = IdentityProvider.objects.select_for_update().first() or IdentityProvider()
    before = {f: getattr(provider, f) for f in AUDITED_FIELDS} if provider.pk else {}
    for field, value in values.items():
        setattr(provider, field, value)
    errors: dict[str, list[str]] = {}
    role: Role | None = values.get("jit_role", provider.jit_role if provider.jit_role_id else None)
    if role is not None and role.parent_id is None:
        errors["jit_role"] = [_("Members cannot hold the top role; choose one below it.")]
    if provider.jit_enabled and role is None:
        errors["jit_role"] = [_("Choose the role new members get.")]
    if provider.protocol == Protocol.OIDC:
        for field in ("oidc_issuer", "oidc_authorization_endpoint", "oidc_token_endpoint", "oidc_jwks_uri"):
            if not getattr(provider, field):
                errors.setdefault(field, [_("Give the discovery URL, or fill in every endpoint.")])
        if not provider.oidc_client_id:
            errors["oidc_client_id"] = [_("This field is required.")]
        if client_secret:
            provider.oidc_client_secret_encrypted = secret_encrypt(client_secret)
        elif not provider.oidc_client_secret_encrypted:
            errors["client_secret"] = [_("This field is required.")]
    elif not provider.saml_metadata_xml or not provider.saml_entity_id:
        errors["saml_metadata_file"] = [_("Upload the identity provider's metadata or give its URL.")]
    if provider.sso_only:
        glass = provider.break_glass
        if not provider.enabled:
            errors["sso_only"] = [_("Turn single sign-on on before making it the only way in.")]
        if glass is None or not glass.active or not glass.is_admin:
            errors["break_glass"] = [_("Choose an active administrator who can still sign in with a password.")]
    if errors:
        raise ValidationError(errors)
    provider.updated_at = timezone.now()
    provider.save()
    after = {f: getattr(provider, f) for f in AUDITED_FIELDS}
    changes: dict[str, list[object]] = {
        f: [before.get(f), after[f]] for f in AUDITED_FIELDS if before.get(f) != after[f]
    }
    if client_secret:
        changes["client_secret"] = ["***", "***"]
    if changes:
        audit_log(action=SETTINGS_CHANGED, actor=actor, changes=changes, details={"setting": "sso"})
    return provider


@transaction.atomic
def provider_delete(*, actor: Member) -> None:
    """Administrators remove single sign-on; members linked to it keep their membership (and a password
    reset gives them a password)."""
    require_tenant_admin(actor)
    deleted, _rows = IdentityProvider.objects.all().delete()
    SsoLink.objects.all().delete()
    if deleted:
        audit_log(action=SETTINGS_CHANGED, actor=actor, details={"setting": "sso", "operation": "removed"})


def password_signin_refusal(user: Any) -> str | None:
    """The password sign-in check registered with crm_apps.access.login_policy: "SSO only"."""
    provider = provider_enabled()
    if provider is None or not provider.sso_only:
        return None
    if (
        provider.break_glass_id is not None
        and Member.objects.filter(pk=provider.break_glass_id, user_id=user.pk, active=True, is_admin=True).exists()
    ):
        return None
    return _("This workspace signs in with %(provider)s only: use the “Sign in with %(provider)s” button.") % {
        "provider": provider.name
    }


def _domain_allowed(provider: IdentityProvider, email: str) -> bool:
    domains = provider.domains()
    return not domains or email.rsplit("@", 1)[-1].lower() in domains


@transaction.atomic
def sso_member_resolve(*, provider: IdentityProvider, tenant: Tenant, identity: Identity) -> Member:
    """The member a verified identity signs in as: the one linked to its subject, else the member with its
    verified email (then linked), else a new member in the chosen role when just-in-time creation is on."""
    link = SsoLink.objects.select_for_update().filter(subject=identity.subject).select_related("member__user").first()
    member = link.member if link is not None else None
    email = (identity.email or "").strip().lower()
    if member is None:
        if not email or not identity.email_verified:
            raise SsoRefused(
                _("%(provider)s did not confirm a verified email address, so you cannot be signed in here.")
                % {"provider": provider.name},
                reason="email_unverified",
            )
        if not _domain_allowed(provider, email):
            raise SsoRefused(
                _("Addresses at this domain may not sign in to this workspace with %(provider)s.")
                % {"provider": provider.name},
                reason="domain_not_allowed",
            )
        member = Member.objects.select_related("user").filter(user__email__iexact=email).first()
    if member is not None and not member.active:
        raise SsoRefused(_("Your access to this workspace was removed."), reason="member_inactive")
    if member is None:
        member = _member_create_jit(provider=provider, tenant=tenant, identity=identity, email=email)
    elif link is None and member.user.has_usable_password():
        raise SsoLinkNeeded(member)
    if link is None:
        try:
            with transaction.atomic():
                SsoLink.objects.create(member=member, subject=identity.subject)
        except IntegrityError:  # a concurrent first sign-in of the same subject linked it
            pass
    else:
        SsoLink.objects.filter(pk=link.pk).update(last_used_at=timezone.now())
    return member


def _member_create_jit(*, provider: IdentityProvider, tenant: Tenant, identity: Identity, email: str) -> Member:
    if not provider.jit_enabled or provider.jit_role is None:
        raise SsoRefused(
            _("You are not a member of this workspace. Ask an administrator to invite you."), reason="not_member"
        )
    try:
        entitlements.members_check(adding=1)
    except entitlements.PlanLimitReached as exc:
        raise SsoRefused(
            _("This workspace has no free seat for a new member (%(detail)s) Ask an administrator.")
            % {"detail": exc.text},
            reason="seat_limit",
        ) from exc
    if User.objects.filter(email__iexact=email).exists():
        # An account elsewhere on the platform: this workspace's provider cannot vouch for it. The person
        # is invited, joins with their own password, and links on their next single sign-on.
        raise SsoRefused(
            _(
                "An account with this email address already exists. Ask an administrator of this workspace to "
                "invite you, join with your password, then sign in with %(provider)s."
            )
            % {"provider": provider.name},
            reason="existing_account",
        )
    user = User.objects.create_user(email, None, name=(identity.name or email.split("@")[0])[:150])
    member = member_create(tenant=tenant, user=user, role=provider.jit_role)
    audit_log(
        action=MEMBER_CHANGED,
        actor=member,
        record_id=member.pk,
        record_label=user.email,
        details={"operation": "joined", "via": "sso", "protocol": identity.protocol, "role": provider.jit_role_id},
    )
    return member


def sso_link_confirm(*, member: Member, subject: str, password: str) -> bool:
    """The member proves the account is theirs with its password; then the provider's subject is linked
    to them (later sign-ins match the subject). False (nothing linked) when the password is wrong."""
    if not member.active or not member.user.is_active or not member.user.check_password(password):
        return False
    SsoLink.objects.get_or_create(subject=subject, defaults={"member": member})
    audit_log(
        action=MEMBER_CHANGED,
        actor=member,
        record_id=member.pk,
        record_label=member.user.email,
        details={"operation": "sso_linked"},
    )
    return True


def sso_login(*, request: HttpRequest, provider: IdentityProvider, member: Member, identity: Identity) -> None:
    """Open the member's session on this host (the MFA gate then applies as to any sign-in)."""
    details = {"via": "sso", "protocol": identity.protocol, "provider": provider.name}
    if identity.mfa:
        details["idp_authn"] = identity.mfa[:200]
    member_login(request, member, details=details)
    request.session[SESSION_SSO_KEY] = {"protocol": identity.protocol, "provider": provider.name}


def sso_failed(*, identity: Identity | None, protocol: str, reason: str) -> None:
    """A refused single sign-on, in the audit trail (no session was opened)."""
    details: dict[str, Any] = {"via": "sso", "protocol": protocol, "reason": reason[:200]}
    if identity is not None and identity.email:
        details["email"] = identity.email[:254]
    audit_log(action=LOGIN_FAILED, details=details)
