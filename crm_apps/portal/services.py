"""The customer portal's writes: access (invite, set password, reset, sign in and out) and what a contact
does (open, answer, close, reopen and rate tickets; edit their profile).

A contact is not a member. Their actions go through the engine's services acting as the member who owns
the contact (else the first administrator), so validation, audit and timeline are the same; what reaches
the timeline is marked as the contact's, and the record's owner is notified. Every record a contact touches
is first found through `selectors` (their own, else 404)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password, make_password
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import override

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create, record_update
from crm_apps.portal.models import (
    PUBLISHABLE,
    SECTIONS,
    PortalAccount,
    PortalSession,
    PortalSettings,
    publishable,
)
from saas.headers import site_origin
from saas.throttle import throttle_exceeded, throttle_hit
from saas.value_labels import workspace_language
from tenants.mail import mail_enqueue

SESSION_DAYS = 14
LINK_DAYS = 7
LANGUAGES = ("en", "ru")
LOGIN_LIMIT = 5
LOGIN_WINDOW = 15 * 60
BODY_MAX = 10_000
MAX_ATTACHMENTS = 5  # files with one new ticket or answer
RESET_EMAIL_LIMIT = 3  # reset links asked for one address an hour
RESET_IP_LIMIT = 10  # reset links asked for from one client an hour
RESET_WINDOW = 3600


def _links() -> signing.TimestampSigner:
    """The set-password links' signer, bound to this workspace (its schema is in the salt): every tenant
    shares SECRET_KEY and account pks repeat across schemas, so a link made on one workspace must not open
    an account on another."""
    from tenants.runtime import current_schema

    return signing.TimestampSigner(salt=f"portal.password-link:{current_schema()}")


class AccessDenied(Exception):
    """Sign-in refused: wrong password, no access, outside the support dates, or throttled."""


def settings_get() -> PortalSettings:
    found = PortalSettings.objects.order_by("id").first()
    return found or PortalSettings(title="")


def _admin_check(actor: Member) -> None:
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied


LOGO_MAX_BYTES = 512 * 1024
FRAME_SITES_MAX = 10


def _origin_error(value: object) -> dict[str, list[str]]:
    return {"frame_origins": [_("%(value)s is not a site address such as https://www.example.com.") % {"value": value}]}


def frame_origins_clean(value: Any) -> list[str]:
    """The sites allowed to frame the portal as origins (scheme://host[:port], lowercase, no duplicates).
    A list, or text with one site per line (or comma-separated). Only https, except in development (a
    development BASE_DOMAIN such as localhost, where sites are http too). No path, query, user or wildcard:
    each origin goes into the frame-ancestors directive as it is, so nothing but a host name, an IPv4
    address or a port gets through (a `;` or a quote would otherwise add a directive)."""
    from saas.env import is_development_domain

    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = [v for v in value.replace(",", "\n").split() if v]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError({"frame_origins": [_("Send a list of site addresses.")]})
    if len(value) > FRAME_SITES_MAX:
        raise ValidationError({"frame_origins": [_("List at most %(count)s sites.") % {"count": FRAME_SITES_MAX}]})
    schemes = ("https", "http") if is_development_domain(settings.BASE_DOMAIN) else ("https",)
    cleaned: list[str] = []
    for item in value:
        origin = site_origin(item)
        if origin is None:
            raise ValidationError(_origin_error(item.strip()))
        if site_origin(item, schemes=schemes) is None:
            raise ValidationError(
                {"frame_origins": [_("%(value)s: only https sites may show the portal.") % {"value": item.strip()}]}
            )
        if origin not in cleaned:
            cleaned.append(origin)
    return cleaned


def _published_errors(value: Any) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Check `{section: [field, ...]}` against what is publishable (PUBLISHABLE and the section's custom
    fields as `custom.<key>`): (cleaned, errors by `published_fields.<section>`)."""
    cleaned: dict[str, list[str]] = {}
    errors: dict[str, list[str]] = {}
    if not isinstance(value, dict):
        return cleaned, {"published_fields": [_("Send an object of section: [field, ...].")]}
    for section, names in value.items():
        allowed = publishable(str(section)) if str(section) in PUBLISHABLE else None
        if allowed is None:
            errors["published_fields"] = [_("Choose among: %(fields)s.") % {"fields": ", ".join(PUBLISHABLE)}]
        elif not isinstance(names, list) or any(n not in allowed for n in names):
            errors[f"published_fields.{section}"] = [_("Choose among: %(fields)s.") % {"fields": ", ".join(allowed)}]
        else:
            cleaned[str(section)] = [n for n in allowed if n in names]
    return cleaned, errors


@transaction.atomic
def settings_save(*, actor: Member, data: dict[str, Any]) -> PortalSettings:
    """Branding and publication (administrators and members who manage settings). `published_fields` is
    `{section: [field, ...]}` (sections left out keep theirs); `ticket_fields` is the tickets' list alone."""
    _admin_check(actor)
    found = PortalSettings.objects.select_for_update().order_by("id").first() or PortalSettings()
    errors: dict[str, list[str]] = {}
    for name in ("title", "welcome_text", "logo_text"):
        if name in data:
            setattr(found, name, str(data[name] or "").strip())
    if "enabled" in data:
        found.enabled = data["enabled"] in (True, "true", "on", "1", 1)
    if "accent_colour" in data:
        colour = str(data["accent_colour"] or "").strip()
        if len(colour) != 7 or colour[0] != "#" or any(c not in "0123456789abcdefABCDEF" for c in colour[1:]):
            errors["accent_colour"] = [_("Enter a colour such as #2457c5.")]
        else:
            found.accent_colour = colour.lower()
    if "ticket_scope" in data:
        if data["ticket_scope"] not in PortalSettings.TicketScope.values:
            errors["ticket_scope"] = [_("Choose whose tickets contacts see.")]
        else:
            found.ticket_scope = data["ticket_scope"]
    if "sections" in data:
        sections = data["sections"]
        if not isinstance(sections, list) or any(s not in SECTIONS for s in sections):
            errors["sections"] = [_("Choose among: %(fields)s.") % {"fields": ", ".join(SECTIONS)}]
        else:
            found.sections = [s for s in SECTIONS if s in sections or s == "tickets"]
    published = dict(found.published_fields or {})
    if "published_fields" in data:
        cleaned, problems = _published_errors(data["published_fields"])
        errors.update(problems)
        published.update(cleaned)
    if "ticket_fields" in data:
        cleaned, problems = _published_errors({"tickets": data["ticket_fields"]})
        if problems:
            errors["ticket_fields"] = next(iter(problems.values()))
        published.update(cleaned)
    found.published_fields = {key: published.get(key, []) for key in PUBLISHABLE}
    if "frame_origins" in data:
        try:
            found.frame_origins = frame_origins_clean(data["frame_origins"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    found.updated_at = timezone.now()
    try:
        found.full_clean(
            exclude=["published_fields", "sections", "frame_origins", "logo_storage_name", "logo_content_type"]
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    found.save()
    audit.audit_log(action=audit.SETTINGS_CHANGED, actor=actor, module="portal", record_label=found.title or "portal")
    return found


def logo_set(*, actor: Member, upload: Any | None) -> PortalSettings:
    """Replace (None: remove) the portal's logo: a PNG, JPEG, GIF or WebP picture of at most 512 KB (sniffed,
    never the browser's word), stored in the tenant's own storage; the old file goes once the change commits."""
    from crm_apps.finance import files

    _admin_check(actor)
    if upload is not None and (getattr(upload, "size", 0) or 0) > LOGO_MAX_BYTES:
        raise ValidationError({"logo": [_("The logo is larger than 512 KB.")]})
    try:
        stored = files.image_store(upload, prefix="portal/logo") if upload is not None else None
    except ValidationError as exc:
        raise ValidationError({"logo": list(exc.messages)}) from None
    try:
        with transaction.atomic():
            found = PortalSettings.objects.select_for_update().order_by("id").first() or PortalSettings()
            old = found.logo_storage_name
            found.logo_storage_name, found.logo_size, found.logo_content_type = stored or ("", 0, "")
            found.updated_at = timezone.now()
            found.save()
            audit.audit_log(
                action=audit.SETTINGS_CHANGED,
                actor=actor,
                module="portal",
                record_label=found.title or "portal",
                details={"logo": [bool(old), bool(stored)]},
            )
            if old:
                transaction.on_commit(lambda: files.image_discard(old))
    except Exception:
        if stored:
            files.image_discard(stored[0])
        raise
    return found


def _date(value: Any, name: str, errors: dict[str, list[str]]) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[name] = [_("Enter a date as YYYY-MM-DD.")]
        return None


def _link(account: PortalAccount) -> str:
    return _links().sign(f"{account.pk}.{account.epoch}")


def _link_url(account: PortalAccount) -> str:
    from django.urls import reverse

    from tenants.runtime import current_schema
    from tenants.services import tenant_url

    return tenant_url(current_schema(), reverse("portal:set_password", args=[_link(account)]))


def _send_link(account: PortalAccount, *, invitation: bool) -> None:
    portal = settings_get()
    with override(account.language):
        subject = (
            _("You are invited to the %(portal)s customer portal")
            if invitation
            else _("Set a new password for %(portal)s")
        ) % {"portal": portal.title or _("customer portal")}
        mail_enqueue(
            to=[account.email],
            subject=subject,
            template="portal/email/link.txt",
            context={"invitation": invitation, "url": _link_url(account), "portal": portal, "days": LINK_DAYS},
        )


@transaction.atomic
def portal_invite(
    *, actor: Member, contact_id: Any, support_start: Any = None, support_end: Any = None, language: str = ""
) -> PortalAccount:
    """Give a contact the actor may edit portal access (support dates optional) and email them a link to
    set their password. Inviting again renews the dates and sends a new link."""
    spec = registry.get("contacts")
    contact = (
        visibility.visible_records(actor=actor, spec=spec, queryset=spec.records())
        .filter(pk=contact_id, deleted_at__isnull=True)
        .first()
        if _is_uuid(contact_id)
        else None
    )
    if contact is None or not visibility.can_edit(actor=actor, spec=spec, record=contact):
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    if not contact.email:
        errors["contact"] = [_("The contact needs an email address.")]
    start = _date(support_start, "support_start", errors)
    end = _date(support_end, "support_end", errors)
    if start and end and end < start:
        errors["support_end"] = [_("The end of support cannot come before its start.")]
    if language and language not in LANGUAGES:
        errors["language"] = [_("Choose English or Russian.")]
    other = PortalAccount.objects.filter(email__iexact=contact.email).exclude(contact_id=contact.pk).exists()
    if other:
        errors["contact"] = [_("Another contact with this email already has portal access.")]
    if errors:
        raise ValidationError(errors)
    account, _created = PortalAccount.objects.get_or_create(contact_id=contact.pk, defaults={"email": contact.email})
    account.email = contact.email
    account.active = True
    account.support_start, account.support_end = start, end
    account.language = language or account.language
    account.invited_by = actor
    account.invited_at = timezone.now()
    account.save()
    _timeline(module="contacts", record_id=contact.pk, text=_lazy("Portal access given"), actor=actor)
    audit.audit_log(
        action=audit.SETTINGS_CHANGED,
        actor=actor,
        module="contacts",
        record_id=contact.pk,
        record_label=str(contact),
        details={"portal": "invited", "support_start": str(start or ""), "support_end": str(end or "")},
    )
    _send_link(account, invitation=True)
    return account


@transaction.atomic
def portal_revoke(*, actor: Member, contact_id: Any) -> None:
    """End a contact's portal access and every session of it."""
    account, contact = _editable_account(actor=actor, contact_id=contact_id)
    PortalAccount.objects.filter(pk=account.pk).update(active=False, epoch=F("epoch") + 1)
    PortalSession.objects.filter(account=account).delete()
    _timeline(module="contacts", record_id=contact.pk, text=_lazy("Portal access ended"), actor=actor)


def _editable_account(*, actor: Member, contact_id: Any) -> tuple[PortalAccount, Any]:
    """The portal account of a contact the actor may edit (else PermissionDenied)."""
    spec = registry.get("contacts")
    account = PortalAccount.objects.filter(contact_id=contact_id).first() if _is_uuid(contact_id) else None
    contact = (
        visibility.visible_records(actor=actor, spec=spec, queryset=spec.records())
        .filter(pk=contact_id, deleted_at__isnull=True)
        .first()
        if account
        else None
    )
    if account is None or contact is None or not visibility.can_edit(actor=actor, spec=spec, record=contact):
        raise PermissionDenied
    return account, contact


@transaction.atomic
def portal_resend(*, actor: Member, contact_id: Any) -> PortalAccount:
    """Email the invitation again (a fresh set-password link) to a contact whose access is on."""
    account, contact = _editable_account(actor=actor, contact_id=contact_id)
    if not account.active:
        raise ValidationError({"contact": [_("Portal access is disabled: give access again instead.")]})
    PortalAccount.objects.filter(pk=account.pk).update(invited_at=timezone.now(), invited_by=actor)
    _timeline(module="contacts", record_id=contact.pk, text=_lazy("Portal invitation sent again"), actor=actor)
    _send_link(account, invitation=True)
    return account


class Status:
    """What the contact page and the settings screen say about an account."""

    INVITED = "invited"  # access on, no password set yet
    ACTIVE = "active"  # password set, within the support dates
    SCHEDULED = "scheduled"  # support starts later
    EXPIRED = "expired"  # support ended
    DISABLED = "disabled"  # access ended by a member


STATUS_LABELS = {
    Status.INVITED: _lazy("Invited"),
    Status.ACTIVE: _lazy("Active"),
    Status.SCHEDULED: _lazy("Support not started yet"),
    Status.EXPIRED: _lazy("Support ended"),
    Status.DISABLED: _lazy("Disabled"),
}


def account_status(account: PortalAccount, today: date | None = None) -> str:
    day = today or timezone.localdate()
    if not account.active:
        return Status.DISABLED
    if account.support_end is not None and account.support_end < day:
        return Status.EXPIRED
    if account.support_start is not None and day < account.support_start:
        return Status.SCHEDULED
    return Status.ACTIVE if account.password else Status.INVITED


def _is_uuid(value: Any) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def account_for_link(token: str) -> PortalAccount | None:
    """The account a set-password link is for, while it is fresh and no password was set since."""
    try:
        value = _links().unsign(token, max_age=timedelta(days=LINK_DAYS))
        account_id, epoch = (int(p) for p in value.split("."))
    except (signing.BadSignature, ValueError):
        return None
    if not settings_get().enabled:
        return None
    return PortalAccount.objects.filter(pk=account_id, epoch=epoch, active=True).first()


@transaction.atomic
def password_set(*, account: PortalAccount, password: str, confirm: str) -> PortalAccount:
    """A new password (Django's validators): ends every session and link before it."""
    errors: dict[str, list[str]] = {}
    if password != confirm:
        errors["confirm"] = [_("The two passwords differ.")]
    else:
        try:
            password_validation.validate_password(password)
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    first = not account.password
    PortalAccount.objects.filter(pk=account.pk).update(password=make_password(password), epoch=F("epoch") + 1)
    PortalSession.objects.filter(account=account).delete()
    account.refresh_from_db()
    _password_noted(account, first=first)
    return account


def _password_noted(account: PortalAccount, *, first: bool) -> None:
    """A password set from the invitation (the access is now in use) or changed (by link or on the profile):
    on the contact's timeline, and the contact's owner is told, as of every portal action."""
    from crm_apps.portal.notify import profile_notify

    text = _lazy("Portal access activated by the contact") if first else _lazy("Portal password changed by the contact")
    _timeline(module="contacts", record_id=account.contact_id, text=text)
    contact = registry.get("contacts").records().filter(pk=account.contact_id, deleted_at__isnull=True).first()
    if contact is not None:
        _audit(
            contact,
            module="contacts",
            record_id=contact.pk,
            label=str(contact),
            what="password_activated" if first else "password_changed",
        )
        what = _lazy("portal access activated") if first else _lazy("password changed")
        transaction.on_commit(lambda: profile_notify(contact=contact, what=what))


def password_reset_request(*, email: str, ip: str) -> None:
    """Email a set-password link to an active account of that address; says nothing about whether one exists.
    Throttled per address (RESET_EMAIL_LIMIT an hour) and per client (RESET_IP_LIMIT): over either, nothing is
    sent and the answer is the same (with the cache down nothing is counted, as for sign-in). Nothing is sent
    while the portal is switched off."""
    address = str(email or "").strip()
    by_email, by_ip = [f"portal:reset:email:{address.lower()}"], [f"portal:reset:ip:{ip}"]
    if throttle_exceeded(by_email, limit=RESET_EMAIL_LIMIT) or throttle_exceeded(by_ip, limit=RESET_IP_LIMIT):
        return
    throttle_hit(by_email + by_ip, window=RESET_WINDOW)
    if not settings_get().enabled:
        return
    account = PortalAccount.objects.filter(email__iexact=address, active=True).first()
    if account is not None:
        _send_link(account, invitation=False)


def _throttle_keys(email: str, ip: str) -> list[str]:
    return [f"portal:login:email:{email.lower()}", f"portal:login:ip:{ip}"]


def login(*, email: str, password: str, ip: str) -> tuple[PortalAccount, str]:
    """Check the password (throttled per address and per client) and open a session; returns the account and
    the cookie value. Every refusal is the same AccessDenied."""
    keys = _throttle_keys(str(email or ""), ip)
    if throttle_exceeded(keys, limit=LOGIN_LIMIT):
        raise AccessDenied("throttled")
    account = PortalAccount.objects.filter(email__iexact=str(email or "").strip()).first()
    valid = account is not None and account.password and check_password(password, account.password)
    if not valid or account is None or not account.active or not account.in_support() or not settings_get().enabled:
        throttle_hit(keys, window=LOGIN_WINDOW)
        raise AccessDenied("refused")
    key = secrets.token_urlsafe(32)
    PortalSession.objects.filter(account=account, expires_at__lte=timezone.now()).delete()  # no sweep task needed
    PortalSession.objects.create(
        key_hash=_hash(key),
        account=account,
        epoch=account.epoch,
        expires_at=timezone.now() + timedelta(days=SESSION_DAYS),
    )
    PortalAccount.objects.filter(pk=account.pk).update(last_login=timezone.now())
    return account, key


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def session_account(key: str) -> PortalAccount | None:
    """The account of a live session key (same epoch, account active and in support)."""
    if not key or len(key) > 100:
        return None
    session = (
        PortalSession.objects.select_related("account")
        .filter(key_hash=_hash(key), expires_at__gt=timezone.now())
        .first()
    )
    if session is None:
        return None
    account = session.account
    if not account.active or session.epoch != account.epoch or not account.in_support():
        return None
    return account


def logout(*, key: str) -> None:
    PortalSession.objects.filter(key_hash=_hash(key)).delete()


# --- What a contact does ---------------------------------------------------------------------------


def contact_of(account: PortalAccount) -> Any:
    spec = registry.get("contacts")
    contact = spec.records().filter(pk=account.contact_id, deleted_at__isnull=True).first()
    if contact is None:
        raise PermissionDenied
    return contact


def acting_member(contact: Any) -> Member:
    """The member the portal acts as for this contact: its owner, else the first active administrator."""
    owner = Member.objects.filter(pk=contact.owner_id, active=True).first() if contact.owner_id else None
    owner = owner or Member.objects.filter(active=True, is_admin=True).order_by("id").first()
    if owner is None:
        raise PermissionDenied
    return owner


def _timeline(
    *, module: str, record_id: Any, text: Any, params: dict[str, Any] | None = None, actor: Member | None = None
) -> None:
    """A note on the record's timeline. `text` is a lazy translation (with `params`): stored, like the rest
    of the timeline, in the workspace's language, whatever language the contact reads the portal in."""
    with override(workspace_language()):
        body = str(text) % params if params else str(text)
        key = _("Customer portal")
    TimelineEntry.objects.create(
        module=module,
        record_id=record_id,
        kind=TimelineEntry.Kind.UPDATED,
        actor=actor,
        data={"changes": {key: [None, body[:300]]}, "portal": True},
    )


def _audit(contact: Any, *, module: str, record_id: Any, label: str, what: str) -> None:
    """An audit event for a portal action the engine's services do not write themselves (a message, a
    password): no member acted, the trail names the contact and the portal."""
    with override(workspace_language()):  # stored: the workspace's language, not the contact's
        actor_label = _("%(contact)s (customer portal)") % {"contact": contact}
    audit.audit_log(
        action=audit.RECORD_UPDATED,
        module=module,
        record_id=record_id,
        record_label=label[:200],
        actor_label=actor_label,
        details={"portal": what},
    )


def _body(value: Any, name: str = "body") -> str:
    text = str(value or "").strip()
    if not text:
        raise ValidationError({name: [_("Write something first.")]})
    if len(text) > BODY_MAX or "\x00" in text:
        raise ValidationError({name: [_("At most %(count)s characters.") % {"count": BODY_MAX}]})
    return text


@transaction.atomic
def ticket_open(*, account: PortalAccount, data: dict[str, Any], uploads: list[Any] | None = None) -> Any:
    """A contact's new ticket (title and description; files become documents linked to it)."""
    from crm_apps.portal.notify import portal_notify

    contact = contact_of(account)
    actor = acting_member(contact)
    title = str(data.get("title") or "").strip()
    description = _body(data.get("description"), "description") if data.get("description") else ""
    if not title:
        raise ValidationError({"title": [_("Give the ticket a title.")]})
    _attachments_check(uploads or [])
    ticket = record_create(
        spec=registry.get("tickets"),
        actor=actor,
        data={
            "title": title[:255],
            "description": description,
            "contact": contact.pk,
            "organization": contact.organization_id,
            "channel": "Portal",
        },
    )
    _attach(actor=actor, ticket=ticket, uploads=uploads or [])
    _timeline(
        module="tickets",
        record_id=ticket.pk,
        text=_lazy("Opened by %(contact)s in the portal"),
        params={"contact": str(contact)},
    )
    _timeline(
        module="contacts",
        record_id=contact.pk,
        text=_lazy("Opened ticket %(number)s in the portal"),
        params={"number": ticket.number},
    )
    from crm_apps.engine import events  # workflows' "portal event" trigger (crm_apps/automation)

    events.record_event(module="tickets", event="portal_ticket_opened", record_ids=[ticket.pk])
    transaction.on_commit(lambda: portal_notify(ticket=ticket, contact=contact, what=_lazy("new ticket")))
    return ticket


def _attachments_check(uploads: list[Any]) -> None:
    if len(uploads) > MAX_ATTACHMENTS:
        raise ValidationError(
            {"attachments": [_("Attach at most %(count)s files at a time.") % {"count": MAX_ATTACHMENTS}]}
        )


def _attach(*, actor: Member, ticket: Any, uploads: list[Any]) -> None:
    from crm_apps.modules.documents.services import Upload, document_create

    _attachments_check(uploads)
    for upload in uploads:
        document_create(
            actor=actor,
            data={"title": upload.name},
            upload=Upload(stream=upload, name=upload.name, size=upload.size or 0),
            links=[("tickets", ticket.pk)],
        )


@transaction.atomic
def ticket_answer(*, account: PortalAccount, ticket: Any, body: Any, uploads: list[Any] | None = None) -> Any:
    """The contact's public message on their ticket; a ticket waiting for them or closed opens again."""
    from crm_apps.modules.tickets import picklists as P
    from crm_apps.modules.tickets.models import TicketReply
    from crm_apps.portal.notify import portal_notify

    contact = contact_of(account)
    actor = acting_member(contact)
    text = _body(body)
    _attachments_check(uploads or [])
    reply = TicketReply.objects.create(
        ticket=ticket, kind=TicketReply.Kind.CUSTOMER, from_address=account.email, body=text
    )
    if ticket.status in (P.WAITING, P.CLOSED):
        record_update(spec=registry.get("tickets"), actor=actor, record=ticket, data={"status": P.OPEN})
    _attach(actor=actor, ticket=ticket, uploads=uploads or [])
    _timeline(
        module="tickets",
        record_id=ticket.pk,
        text=_lazy("%(contact)s answered: %(text)s"),
        params={"contact": str(contact), "text": text[:200]},
    )
    _audit(contact, module="tickets", record_id=ticket.pk, label=f"{ticket.number} {ticket.title}", what="answer")
    from crm_apps.engine import events  # workflows' "portal event" trigger (crm_apps/automation)

    events.record_event(module="tickets", event="portal_ticket_answered", record_ids=[ticket.pk])
    transaction.on_commit(lambda: portal_notify(ticket=ticket, contact=contact, what=_lazy("answer")))
    return reply


@transaction.atomic
def ticket_status_set(*, account: PortalAccount, ticket: Any, close: bool) -> Any:
    """The contact closes their ticket (it is solved for them) or reopens it."""
    from crm_apps.modules.tickets import picklists as P
    from crm_apps.portal.notify import portal_notify

    contact = contact_of(account)
    actor = acting_member(contact)
    if close == (ticket.status == P.CLOSED):
        raise ValidationError({"status": [_("The ticket is already closed.") if close else _("The ticket is open.")]})
    data: dict[str, Any] = {"status": P.CLOSED if close else P.OPEN}
    if close and not ticket.solution:
        with override(workspace_language()):  # stored on the ticket: the workspace's language
            data["solution"] = _("Closed by the customer in the portal.")
    updated = record_update(spec=registry.get("tickets"), actor=actor, record=ticket, data=data)
    text = _lazy("Closed by %(contact)s in the portal") if close else _lazy("Reopened by %(contact)s in the portal")
    _timeline(module="tickets", record_id=ticket.pk, text=text, params={"contact": str(contact)})
    transaction.on_commit(
        lambda: portal_notify(ticket=updated, contact=contact, what=_lazy("closed") if close else _lazy("reopened"))
    )
    return updated


@transaction.atomic
def ticket_rate(*, account: PortalAccount, ticket: Any, rating: Any) -> Any:
    """The contact rates the solution of a closed ticket, 1 to 5."""
    from crm_apps.modules.tickets import picklists as P
    from crm_apps.portal.notify import portal_notify

    contact = contact_of(account)
    if ticket.status != P.CLOSED:
        raise ValidationError({"rating": [_("Rate a ticket once it is closed.")]})
    if str(rating) not in {"1", "2", "3", "4", "5"}:
        raise ValidationError({"rating": [_("Choose from 1 to 5.")]})
    updated = record_update(
        spec=registry.get("tickets"), actor=acting_member(contact), record=ticket, data={"satisfaction": int(rating)}
    )
    _timeline(
        module="tickets",
        record_id=ticket.pk,
        text=_lazy("Rated %(rating)s of 5 by %(contact)s"),
        params={"rating": rating, "contact": str(contact)},
    )
    transaction.on_commit(lambda: portal_notify(ticket=updated, contact=contact, what=_lazy("rating")))
    return updated


PROFILE_FIELDS = ("first_name", "last_name", "phone", "mobile")


@transaction.atomic
def profile_update(*, account: PortalAccount, data: dict[str, Any]) -> Any:
    """The contact changes their name and phone numbers (through the engine, validated, on the timeline);
    the contact's owner is notified, as of every portal action."""
    from crm_apps.portal.notify import profile_notify

    contact = contact_of(account)
    values = {k: str(data.get(k) or "").strip() for k in PROFILE_FIELDS if k in data}
    updated = record_update(spec=registry.get("contacts"), actor=acting_member(contact), record=contact, data=values)
    _timeline(module="contacts", record_id=contact.pk, text=_lazy("Profile changed in the portal"))
    transaction.on_commit(lambda: profile_notify(contact=updated, what=_lazy("profile changed")))
    if "language" in data and data["language"] in LANGUAGES:
        PortalAccount.objects.filter(pk=account.pk).update(language=data["language"])
    return updated


def password_change(*, account: PortalAccount, current: str, password: str, confirm: str) -> PortalAccount:
    if not check_password(current, account.password):
        raise ValidationError({"current": [_("This is not your current password.")]})
    return password_set(account=account, password=password, confirm=confirm)
