"""Writes for partners: signup, profile, logo, team and invitations, leads, operator badge actions.

Every entry path (portal, operator console, tests) calls these. Authorisation uses the role
permissions in `permissions.py`; a member of another partner is refused like a stranger.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator, validate_email, validate_slug
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from crm_apps.access.services import _new_account_errors
from marketplace.partners import choices
from marketplace.partners.lock_objects import partner_lock, partner_members_lock
from marketplace.partners.models import (
    ListingState,
    Partner,
    PartnerInvitation,
    PartnerLead,
    PartnerMember,
    PartnerRole,
)
from marketplace.partners.permissions import LEADS_VIEW, PROFILE_CHANGE, TEAM_MANAGE, partner_has_perm
from tenants.mail import mail_enqueue
from tenants.models import User, normalize_email
from tenants.services import public_url, text_problem

NAME_MAX = 120
DESCRIPTION_MAX = 5000
CERTIFICATION_MAX = 100
CERTIFICATIONS_MAX = 20
LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_PIXELS = 4096 * 4096
LOGO_SIDE = 512
LOGO_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}
INVITATION_TTL = timedelta(days=7)
RESERVED_SLUGS = frozenset({"new", "signup", "login", "logout", "invitations", "admin", "partner-portal"})


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _text(errors: dict[str, list[str]], field: str, value: Any, max_length: int, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append(_("Enter text."))
        return ""
    problem = text_problem(value)
    if problem:
        errors.setdefault(field, []).append(problem)
        return ""
    value = value.strip()
    if required and not value:
        errors.setdefault(field, []).append(_("This field is required."))
    elif len(value) > max_length:
        errors.setdefault(field, []).append(
            _("Ensure this value has at most %(max)d characters (it has %(len)d).")
            % {"max": max_length, "len": len(value)}
        )
    return value


def _slug_clean(errors: dict[str, list[str]], slug: Any) -> str:
    slug = _text(errors, "slug", slug, 60, required=True).lower()
    if slug and "slug" not in errors:
        try:
            validate_slug(slug)
        except ValidationError:
            errors["slug"] = [_("Use only lower-case letters, digits and hyphens.")]
        else:
            if len(slug) < 3:
                errors["slug"] = [_("Use at least 3 characters.")]
            elif slug in RESERVED_SLUGS or Partner.objects.filter(slug=slug).exists():
                errors["slug"] = [_("This address name is already taken.")]
    return slug


# Signup ------------------------------------------------------------------------------------------


@transaction.atomic
def partner_create(*, user: User, name: Any, slug: Any) -> Partner:
    """A signed-in user creates a partner organisation and becomes its owner."""
    errors: dict[str, list[str]] = {}
    name_v = _text(errors, "name", name, NAME_MAX, required=True)
    slug_v = _slug_clean(errors, slug)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            partner = Partner.objects.create(name=name_v, slug=slug_v)
    except IntegrityError as exc:  # a concurrent signup took the slug
        raise ValidationError({"slug": [_("This address name is already taken.")]}) from exc
    PartnerMember.objects.create(partner=partner, user=user, role=PartnerRole.OWNER)
    return partner


@dataclass(frozen=True)
class PartnerSignup:
    user: User
    partner: Partner


@transaction.atomic
def partner_signup(*, name: Any, email: Any, password: Any, partner_name: Any, slug: Any) -> PartnerSignup:
    """A visitor creates a global identity and a partner organisation at once; existing identities sign in first."""
    errors: dict[str, list[str]] = {}
    email_v = normalize_email(_text(errors, "email", email, 254, required=True))
    if email_v and "email" not in errors:
        try:
            validate_email(email_v)
        except ValidationError:
            errors["email"] = [_("Enter a valid email address.")]
        else:
            if User.objects.filter(email__iexact=email_v).exists():
                errors["email"] = [
                    _("An account with this email address exists: sign in first, then create the partner.")
                ]
    name_v = _text(errors, "name", name, 150, required=True)
    password_v = password if isinstance(password, str) else ""
    for field, messages in _new_account_errors(email=email_v, name=name_v, password=password_v).items():
        if field not in errors:
            errors[field] = messages
    partner_name_v = _text(errors, "partner_name", partner_name, NAME_MAX, required=True)
    slug_v = _slug_clean(errors, slug)
    if errors:
        raise ValidationError(errors)
    user = User.objects.create_user(email_v, password_v, name=name_v)
    partner = partner_create(user=user, name=partner_name_v, slug=slug_v)
    return PartnerSignup(user=user, partner=partner)


# Profile -----------------------------------------------------------------------------------------


def _require(actor: PartnerMember, partner: Partner, perm: str) -> None:
    if actor.partner_id != partner.pk or not partner_has_perm(actor, perm):
        raise PermissionDenied(_("Your partner role does not allow this."))


def _codes(errors: dict[str, list[str]], field: str, values: Any, allowed: list[tuple[str, str]]) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        errors[field] = [_("Choose from the list.")]
        return []
    known = {code for code, _label in allowed}
    unknown = sorted({v for v in values if v not in known})
    if unknown:
        errors[field] = [_("Unknown choice: %(values)s.") % {"values": ", ".join(unknown)[:200]}]
        return []
    return sorted(set(values), key=list(values).index)


def _certifications(errors: dict[str, list[str]], values: Any) -> list[str]:
    if isinstance(values, str):
        values = values.splitlines()
    cleaned: list[str] = []
    for value in values or []:
        text = _text(errors, "certifications", value, CERTIFICATION_MAX, required=False)
        if text and text not in cleaned:
            cleaned.append(text)
    if len(cleaned) > CERTIFICATIONS_MAX:
        errors.setdefault("certifications", []).append(
            _("List at most %(max)d certifications.") % {"max": CERTIFICATIONS_MAX}
        )
    return cleaned


@transaction.atomic
def partner_profile_update(
    *,
    actor: PartnerMember,
    partner: Partner,
    name: Any,
    website: Any = "",
    description: Any = "",
    countries: Any = (),
    regions: Any = (),
    languages: Any = (),
    services: Any = (),
    industries: Any = (),
    certifications: Any = (),
) -> Partner:
    """Owners and sales edit the public profile; every choice must come from its list."""
    _require(actor, partner, PROFILE_CHANGE)
    errors: dict[str, list[str]] = {}
    name_v = _text(errors, "name", name, NAME_MAX, required=True)
    website_v = _text(errors, "website", website, 300, required=False)
    if website_v and "website" not in errors:
        try:
            URLValidator(schemes=["http", "https"])(website_v)
        except ValidationError:
            errors["website"] = [_("Enter a full web address starting with https:// or http://.")]
    description_v = _text(errors, "description", description, DESCRIPTION_MAX, required=False)
    values = {
        "countries": _codes(errors, "countries", countries, choices.country_choices()),
        "regions": _codes(errors, "regions", regions, choices.region_choices()),
        "languages": _codes(errors, "languages", languages, choices.language_choices()),
        "services": _codes(errors, "services", services, choices.service_choices()),
        "industries": _codes(errors, "industries", industries, choices.industry_choices()),
        "certifications": _certifications(errors, certifications),
    }
    if errors:
        raise ValidationError(errors)
    partner = partner_lock(partner.pk)
    partner.name = name_v
    partner.website = website_v
    partner.description = description_v
    for field, value in values.items():
        setattr(partner, field, value)
    partner.save()
    return partner


def logo_clean(upload: UploadedFile) -> bytes:
    """A real PNG, JPEG, GIF or WebP image of at most 1 MB, re-encoded as a PNG of at most 512 px.

    Re-encoding keeps only pixels: whatever else the file carried (scripts, polyglot payloads,
    metadata) is dropped. Raises ValidationError({"logo": ...}) otherwise."""
    size = upload.size or 0
    if size > LOGO_MAX_BYTES:
        raise ValidationError(
            {"logo": [_("The logo is too big: at most %(max)d KB.") % {"max": LOGO_MAX_BYTES // 1024}]}
        )
    data = upload.read(LOGO_MAX_BYTES + 1)
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError(
            {"logo": [_("The logo is too big: at most %(max)d KB.") % {"max": LOGO_MAX_BYTES // 1024}]}
        )
    not_image = ValidationError({"logo": [_("Upload a PNG, JPEG, GIF or WebP image.")]})
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in LOGO_FORMATS:
                raise not_image
            width, height = probe.size
            if width * height > LOGO_MAX_PIXELS:
                raise ValidationError({"logo": [_("The logo has too many pixels: at most 4096 × 4096.")]})
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image.thumbnail((LOGO_SIDE, LOGO_SIDE))
            converted = image.convert("RGBA")
            out = io.BytesIO()
            converted.save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise not_image from exc
    return out.getvalue()


def partner_logo_set(*, actor: PartnerMember, partner: Partner, upload: UploadedFile) -> Partner:
    """Owners and sales upload a logo: checked as a real image, size-limited, stored re-encoded."""
    _require(actor, partner, PROFILE_CHANGE)
    png = logo_clean(upload)
    with transaction.atomic():
        partner = partner_lock(partner.pk)
        old = str(partner.logo.name) if partner.logo else ""
        partner.logo.save(f"logo-{secrets.token_hex(8)}.png", ContentFile(png), save=False)
        partner.save(update_fields=["logo", "updated_at"])
        if old:
            storage = partner.logo.storage
            transaction.on_commit(lambda: storage.delete(old))
    return partner


def partner_logo_remove(*, actor: PartnerMember, partner: Partner) -> Partner:
    _require(actor, partner, PROFILE_CHANGE)
    with transaction.atomic():
        partner = partner_lock(partner.pk)
        if partner.logo:
            old, storage = str(partner.logo.name), partner.logo.storage
            partner.logo = ""
            partner.save(update_fields=["logo", "updated_at"])
            transaction.on_commit(lambda: storage.delete(old))
    return partner


# Team --------------------------------------------------------------------------------------------


def _role_clean(role: Any) -> str:
    if role not in PartnerRole.values:
        raise ValidationError({"role": [_("Choose owner, developer or sales.")]})
    return str(role)


def partner_invitation_create(
    *, actor: PartnerMember, partner: Partner, email: Any, role: Any
) -> tuple[PartnerInvitation, str]:
    """Owners invite people by email with a role; the link is valid for 7 days and used once."""
    _require(actor, partner, TEAM_MANAGE)
    errors: dict[str, list[str]] = {}
    email_v = normalize_email(_text(errors, "email", email, 254, required=True))
    if email_v and "email" not in errors:
        try:
            validate_email(email_v)
        except ValidationError:
            errors["email"] = [_("Enter a valid email address.")]
        else:
            if PartnerMember.objects.filter(partner=partner, user__email__iexact=email_v).exists():
                errors["email"] = [_("This person is already in the team.")]
    try:
        role_v = _role_clean(role)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        PartnerInvitation.objects.filter(
            partner=partner, email=email_v, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        invitation = PartnerInvitation.objects.create(
            partner=partner,
            email=email_v,
            role=role_v,
            key_hash=_hash(key),
            invited_by=actor.user,
            expires_at=timezone.now() + INVITATION_TTL,
        )
        mail_enqueue(
            to=[email_v],
            subject=_("%(name)s invites you to its partner team") % {"name": partner.name},
            template="partners/email/invitation.txt",
            context={
                "partner": partner,
                "inviter": actor.user,
                "role": invitation.get_role_display(),
                "url": public_url(f"/partner-portal/invitations/{key}/"),
            },
        )
    return invitation, key


def partner_invitation_get_pending(*, key: str) -> PartnerInvitation | None:
    invitation = PartnerInvitation.objects.select_related("partner").filter(key_hash=_hash(key)).first()
    return invitation if invitation is not None and invitation.is_pending else None


@transaction.atomic
def partner_invitation_accept(*, key: str, user: User) -> PartnerMember:
    """The invited person, signed in with the invited address, joins the team once."""
    invitation = PartnerInvitation.objects.select_for_update().filter(key_hash=_hash(key)).first()
    if invitation is None or not invitation.is_pending:
        raise ValidationError(_("This invitation is no longer valid."))
    if normalize_email(user.email) != invitation.email:
        raise ValidationError(
            _("This invitation was sent to %(email)s: sign in with that address.") % {"email": invitation.email}
        )
    member, _created = PartnerMember.objects.get_or_create(
        partner=invitation.partner, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    from marketplace.partners.delegation import partner_user_access_sync

    partner_user_access_sync(partner=invitation.partner, user=user)
    return member


def partner_invitation_revoke(*, actor: PartnerMember, invitation: PartnerInvitation) -> None:
    _require(actor, invitation.partner, TEAM_MANAGE)
    PartnerInvitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


@transaction.atomic
def partner_member_set_role(*, actor: PartnerMember, member: PartnerMember, role: Any) -> PartnerMember:
    """Owners change roles; a partner always keeps at least one owner."""
    _require(actor, member.partner, TEAM_MANAGE)
    role_v = _role_clean(role)
    partner_lock(member.partner_id)
    members = {m.pk: m for m in partner_members_lock(member.partner_id)}
    target = members.get(member.pk)
    if target is None:
        raise ValidationError(_("This person is no longer in the team."))
    owners = [m for m in members.values() if m.role == PartnerRole.OWNER]
    if target.role == PartnerRole.OWNER and role_v != PartnerRole.OWNER and len(owners) <= 1:
        raise ValidationError({"role": [_("The last owner must stay an owner.")]})
    target.role = role_v
    target.save(update_fields=["role"])
    return target


@transaction.atomic
def partner_member_remove(*, actor: PartnerMember, member: PartnerMember) -> None:
    """Owners remove people (never the last owner); their delegated tenant memberships end at once."""
    _require(actor, member.partner, TEAM_MANAGE)
    partner_lock(member.partner_id)
    members = {m.pk: m for m in partner_members_lock(member.partner_id)}
    target = members.get(member.pk)
    if target is None:
        return
    owners = [m for m in members.values() if m.role == PartnerRole.OWNER]
    if target.role == PartnerRole.OWNER and len(owners) <= 1:
        raise ValidationError(_("The last owner cannot be removed."))
    partner, user = target.partner, target.user
    target.delete()
    from marketplace.partners.delegation import partner_user_access_sync

    partner_user_access_sync(partner=partner, user=user)


# Leads -------------------------------------------------------------------------------------------

MARKUP = re.compile(r"<\s*[a-zA-Z/!?]|\[url=|\[/url\]", re.IGNORECASE)
LINK = re.compile(r"https?://|www\.", re.IGNORECASE)
LEAD_LINKS_MAX = 2
LEAD_MESSAGE_MAX = 3000


def partner_lead_create(
    *,
    partner: Partner,
    name: Any,
    email: Any,
    message: Any,
    company: Any = "",
    phone: Any = "",
    country: Any = "",
) -> PartnerLead:
    """A visitor's message to a listed partner: stored, shown in the portal, emailed to its owners after commit.

    Plain text only: markup and link-stuffed messages are refused with a field error."""
    errors: dict[str, list[str]] = {}
    name_v = _text(errors, "name", name, 150, required=True)
    email_v = normalize_email(_text(errors, "email", email, 254, required=True))
    if email_v and "email" not in errors:
        try:
            validate_email(email_v)
        except ValidationError:
            errors["email"] = [_("Enter a valid email address.")]
    company_v = _text(errors, "company", company, 150, required=False)
    phone_v = _text(errors, "phone", phone, 40, required=False)
    if phone_v and not re.fullmatch(r"[0-9+()./\- ]{5,40}", phone_v):
        errors["phone"] = [_("Enter a phone number: digits, spaces and + ( ) - . only.")]
    country_v = _text(errors, "country", country, 2, required=False).upper()
    if country_v and country_v not in dict(choices.country_choices()):
        errors["country"] = [_("Choose a country from the list.")]
    message_v = _text(errors, "message", message, LEAD_MESSAGE_MAX, required=True)
    for field, value in (("name", name_v), ("company", company_v), ("message", message_v)):
        if value and MARKUP.search(value) and field not in errors:
            errors[field] = [_("Please write plain text, without HTML or other markup.")]
    if message_v and "message" not in errors and len(LINK.findall(message_v)) > LEAD_LINKS_MAX:
        errors["message"] = [_("Please include at most %(max)d links.") % {"max": LEAD_LINKS_MAX}]
    if not partner.is_listed:
        errors.setdefault("__all__", []).append(_("This partner is not listed any more."))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        lead = PartnerLead.objects.create(
            partner=partner,
            name=name_v,
            email=email_v,
            company=company_v,
            phone=phone_v,
            country=country_v,
            message=message_v,
        )
        owners = list(
            PartnerMember.objects.filter(partner=partner, role=PartnerRole.OWNER, user__is_active=True).values_list(
                "user__email", flat=True
            )
        )
        if owners:
            mail_enqueue(
                to=owners,
                subject=_("New enquiry from %(name)s") % {"name": name_v},
                template="partners/email/lead.txt",
                context={"partner": partner, "lead": lead, "url": public_url(f"/partner-portal/{partner.slug}/leads/")},
            )
    return lead


def partner_lead_mark_read(*, actor: PartnerMember, lead: PartnerLead) -> PartnerLead:
    _require(actor, lead.partner, LEADS_VIEW)
    if lead.read_at is None:
        lead.read_at = timezone.now()
        lead.save(update_fields=["read_at"])
    return lead


# The authorised badge ----------------------------------------------------------------------------


def partner_authorisation_follow(*, partner: Partner) -> None:
    """The badge is on while the listing subscription is active and no operator revoked it
    (call with the partner row locked; the caller saves)."""
    authorised = partner.listing_state == ListingState.ACTIVE and partner.badge_revoked_at is None
    if authorised and not partner.is_authorised:
        partner.authorised_since = timezone.now()
    if not authorised:
        partner.authorised_since = None
    partner.is_authorised = authorised


@transaction.atomic
def partners_approve(*, operator: User, partners: list[Partner]) -> tuple[int, list[Partner]]:
    """An operator approves partners for the public directory; (newly approved count, approved ones
    whose profile is still incomplete, so not listed yet). Approving twice keeps the first approval."""
    if not operator.is_staff:
        raise PermissionDenied
    approved = 0
    for partner in partners:
        if partner.approved_at is None:
            partner.approved_at = timezone.now()
            partner.approved_by = operator
            partner.save(update_fields=["approved_at", "approved_by", "updated_at"])
            approved += 1
    return approved, [p for p in partners if p.profile_missing()]


@transaction.atomic
def partner_badge_revoke(*, operator: User, partner: Partner, reason: Any) -> Partner:
    """Operators take the authorised badge away with a reason; it stays off until they restore it."""
    if not operator.is_staff:
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    reason_v = _text(errors, "reason", reason, 2000, required=True)
    if errors:
        raise ValidationError(errors)
    partner = partner_lock(partner.pk)
    partner.badge_revoked_at = timezone.now()
    partner.badge_revoked_reason = reason_v
    partner.badge_revoked_by = operator
    partner_authorisation_follow(partner=partner)
    partner.save()
    return partner


@transaction.atomic
def partner_badge_restore(*, operator: User, partner: Partner) -> Partner:
    """Operators lift their revocation; the badge comes back only if the listing is paid."""
    if not operator.is_staff:
        raise PermissionDenied
    partner = partner_lock(partner.pk)
    partner.badge_revoked_at = None
    partner.badge_revoked_reason = ""
    partner.badge_revoked_by = None
    partner_authorisation_follow(partner=partner)
    partner.save()
    return partner
