"""Writes of the extension catalog (public schema): listings, versions and their review, installing
from the catalog into a tenant (review gate, licence), ratings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import markdown
import nh3
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from crm_apps.access.models import Member
from crm_apps.access.privileges import require_tenant_admin
from marketplace.catalog.models import (
    Licence,
    LicenceState,
    Listing,
    MarketplaceSettings,
    Pricing,
    Review,
    ReviewState,
    Version,
)
from marketplace.installs.models import ExtensionInstallation
from marketplace.manifest import manifest_validate
from marketplace.partners.models import Partner
from tenants.models import Tenant, User

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "code", "pre", "blockquote", "h3", "h4", "a"}


def markdown_render(text: str) -> str:
    """Partner Markdown as HTML with only harmless tags (no raw HTML, scripts, images or styles)."""
    html = markdown.markdown(text or "", extensions=["sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )


def commission_percent() -> Decimal:
    """The platform's commission on extension sales (operators set it; 25% until they do)."""
    settings_row = MarketplaceSettings.objects.first()
    return settings_row.commission_percent if settings_row else Decimal("25.00")


@transaction.atomic
def partner_charges_refusal(*, partner: Partner) -> ValidationError | None:
    """Paid extensions need the partner's Stripe account able to take charges (Connect's
    `charges_enabled`, kept by account.updated); the error to show when it cannot."""
    if partner.stripe_account_id and partner.stripe_charges_enabled:
        return None
    return ValidationError(
        {"listing": [_("The partner cannot accept payments yet (Stripe has not enabled charges on its account).")]}
    )


def listing_save(*, partner: Partner, listing: Listing | None = None, **values: object) -> Listing:
    """Create or change a partner's listing; the description is rendered and sanitised on save. A listing
    becomes paid only while Stripe lets the partner's account take charges."""
    listing = listing or Listing(partner=partner)
    if listing.partner_id != partner.pk:
        raise PermissionDenied
    was_paid = listing.pk is not None and Listing.objects.filter(pk=listing.pk).exclude(pricing=Pricing.FREE).exists()
    becomes_paid = values.get("pricing", listing.pricing) != Pricing.FREE and not was_paid
    if becomes_paid and partner_charges_refusal(partner=partner) is not None:
        message = _("Connect a Stripe account that can accept payments (see the overview page) before you sell.")
        raise ValidationError({"pricing": [message]})
    for name, value in values.items():
        setattr(listing, name, value)
    if listing.pricing == Pricing.FREE:
        listing.price_cents = 0
    elif not listing.price_cents:
        raise ValidationError({"price_cents": [_("Paid extensions cost from $0.01 to $300.")]})
    listing.description_html = markdown_render(listing.description)
    listing.full_clean()
    listing.save()
    return listing


@transaction.atomic
def version_submit(
    *, listing: Listing, manifest: object, submitted_by: User | None, release_notes: str = ""
) -> Version:
    """A partner uploads a manifest for review; errors name the manifest path of each problem."""
    parsed = manifest_validate(manifest)
    errors: dict[str, list[str]] = {}
    if parsed.key != listing.slug:
        errors["key"] = [
            _("The manifest's key must be the listing's address name “%(slug)s”.") % {"slug": listing.slug}
        ]
    if Version.objects.filter(listing=listing, number=str(parsed.version)).exists():
        errors["version"] = [_("Version %(v)s was uploaded already.") % {"v": parsed.version}]
    newest = max((tuple(v.sort_key) for v in listing.versions.all()), default=None)
    if newest is not None and tuple(parsed.version.release) <= newest and "version" not in errors:
        errors["version"] = [_("A new version must be higher than %(v)s.") % {"v": ".".join(map(str, newest))}]
    if errors:
        raise ValidationError(errors)
    return Version.objects.create(
        listing=listing,
        number=str(parsed.version),
        sort_key=list(parsed.version.release),
        manifest=parsed.data,
        min_platform_version=str(parsed.min_platform_version),
        release_notes=release_notes[:5000],
        submitted_by=submitted_by,
    )


@transaction.atomic
def version_review(*, version: Version, reviewer: User, approve: bool, notes: str = "") -> Version:
    """An operator approves or rejects a submitted version; a rejection needs notes for the partner."""
    if not reviewer.is_staff:
        raise PermissionDenied
    version = Version.objects.select_for_update().get(pk=version.pk)
    if not approve and not notes.strip():
        raise ValidationError({"review_notes": [_("Tell the partner why the version is rejected.")]})
    if approve:
        manifest_validate(version.manifest)  # the platform may have changed since the upload
    version.state = ReviewState.APPROVED if approve else ReviewState.REJECTED
    version.review_notes = notes.strip()
    version.reviewed_by = reviewer
    version.reviewed_at = timezone.now()
    version.save()
    return version


def version_latest_approved(*, listing: Listing) -> Version | None:
    """The highest approved version of a listing."""
    approved = list(Version.objects.filter(listing=listing, state=ReviewState.APPROVED))
    return max(approved, key=lambda v: tuple(v.sort_key), default=None)


@transaction.atomic
def licence_for_free_or_trial(*, tenant: Tenant, listing: Listing) -> Licence:
    """The licence a free install or the start of a trial gives (paid ones start at Checkout)."""
    licence = Licence.objects.select_for_update().filter(tenant=tenant, listing=listing).first()
    if licence is not None and licence.usable:
        return licence
    if listing.pricing == Pricing.FREE:
        state, trial_end = LicenceState.FREE, None
    elif (refusal := partner_charges_refusal(partner=listing.partner)) is not None:
        raise refusal
    elif listing.trial_days and licence is None:
        state, trial_end = LicenceState.TRIAL, timezone.now() + timedelta(days=listing.trial_days)
    else:
        raise ValidationError({"licence": [_("This extension must be paid for before it is installed.")]})
    if licence is None:
        licence = Licence(tenant=tenant, listing=listing)
    licence.state = state
    licence.trial_end = trial_end
    licence.pricing = listing.pricing
    licence.price_cents = listing.price_cents
    licence.save()
    return licence


def catalog_install(*, tenant: Tenant, actor: Member, listing: Listing) -> tuple[ExtensionInstallation, str | None]:
    """Install the newest approved version into the tenant (review gate and licence checked)."""
    from marketplace.catalog.selectors import marketplace_entitled
    from marketplace.installs.services import extension_install

    if not marketplace_entitled(tenant=tenant):
        raise ValidationError({"plan": [_("Your plan does not include extensions. Choose another plan in Billing.")]})
    version = version_latest_approved(listing=listing)
    if version is None:
        raise ValidationError({"version": [_("This extension has no approved version yet.")]})
    manifest = manifest_validate(version.manifest)
    licence = Licence.objects.filter(tenant=tenant, listing=listing).first()
    if licence is None or not licence.usable:
        licence = licence_for_free_or_trial(tenant=tenant, listing=listing)
    with schema_context(tenant.schema_name):
        installation, key = extension_install(
            actor=actor, listing_id=listing.pk, slug=listing.slug, name=listing.name, manifest=manifest
        )
    Listing.objects.filter(pk=listing.pk).update(install_count=_install_count(listing))
    return installation, key


def _install_count(listing: Listing) -> int:
    return Licence.objects.filter(listing=listing).exclude(state=LicenceState.CANCELLED).count()


def catalog_uninstall(*, tenant: Tenant, actor: Member, listing: Listing, purge: bool = False) -> None:
    """Uninstall in the tenant; a paid licence stays until its subscription is cancelled."""
    from marketplace.apps.services import listing_apps_uninstall
    from marketplace.installs.models import ExtensionInstallation
    from marketplace.installs.services import extension_uninstall

    with schema_context(tenant.schema_name):
        installation = ExtensionInstallation.objects.filter(listing_id=listing.pk).first()
        if installation is None:
            raise ValidationError({"listing": [_("This extension is not installed.")]})
        extension_uninstall(actor=actor, installation=installation, purge=purge)
        # The OAuth apps linked to this listing go with it: their tokens stop at once (ADR 0045).
        listing_apps_uninstall(tenant=tenant, actor=actor, listing_id=listing.pk)
    Licence.objects.filter(tenant=tenant, listing=listing, state=LicenceState.FREE).update(state=LicenceState.CANCELLED)
    Listing.objects.filter(pk=listing.pk).update(install_count=_install_count(listing))


@transaction.atomic
def review_add(*, tenant: Tenant, actor: Member, listing: Listing, rating: int, body: str = "") -> Review:
    """A tenant admin whose workspace installed the extension rates it, once."""
    require_tenant_admin(actor)
    if not Licence.objects.filter(tenant=tenant, listing=listing).exists():
        raise ValidationError({"rating": [_("Only workspaces that installed the extension may review it.")]})
    if Review.objects.filter(tenant=tenant, listing=listing).exists():
        raise ValidationError({"rating": [_("Your workspace has reviewed this extension already.")]})
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationError({"rating": [_("Choose 1 to 5 stars.")]})
    body = (body or "").strip()
    if len(body) > 2000 or "\x00" in body:
        raise ValidationError({"body": [_("Ensure this value has at most %(max)d characters.") % {"max": 2000}]})
    try:
        with transaction.atomic():
            review = Review.objects.create(listing=listing, tenant=tenant, author=actor.user, rating=rating, body=body)
    except IntegrityError as exc:  # a concurrent review by another admin of the workspace won
        raise ValidationError({"rating": [_("Your workspace has reviewed this extension already.")]}) from exc
    Listing.objects.filter(pk=listing.pk).update(
        rating_sum=F("rating_sum") + rating, rating_count=F("rating_count") + 1
    )
    return review
