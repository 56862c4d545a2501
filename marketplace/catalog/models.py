"""Extensions in `public`: a partner's listings and their versions (manifests under review), tenants'
ratings, the licence each tenant holds for a listing (trial, active, past due, cancelled) and the sales
that pay partners through Stripe Connect minus the platform's commission."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

MAX_PRICE_CENTS = 30_000  # $300


class Category(models.TextChoices):
    SALES = "sales", _("Sales")
    MARKETING = "marketing", _("Marketing")
    SUPPORT = "support", _("Customer support")
    INTEGRATION = "integration", _("Integrations")
    LOCALISATION = "localisation", _("Localisation")
    PRODUCTIVITY = "productivity", _("Productivity")


class Pricing(models.TextChoices):
    FREE = "free", _("Free")
    ONE_TIME = "one_time", _("One-time payment")
    MONTHLY_TENANT = "monthly_tenant", _("Monthly per workspace")
    MONTHLY_SEAT = "monthly_seat", _("Monthly per seat")


class Listing(models.Model):
    """An extension as the catalog shows it; what it installs is in its approved versions."""

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.PROTECT, related_name="listings"
    )
    slug = models.SlugField(_("address name"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    summary = models.CharField(_("summary"), max_length=200)
    description = models.TextField(_("description (Markdown)"), max_length=20_000, blank=True)
    description_html = models.TextField(editable=False, blank=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    support_url = models.URLField(_("support address"), max_length=300)
    pricing = models.CharField(_("pricing"), max_length=20, choices=Pricing.choices, default=Pricing.FREE)
    price_cents = models.PositiveIntegerField(
        _("price (US cents)"), default=0, validators=[MaxValueValidator(MAX_PRICE_CENTS)]
    )
    trial_days = models.PositiveSmallIntegerField(_("trial days"), default=0, validators=[MaxValueValidator(90)])
    install_count = models.PositiveIntegerField(_("installs"), default=0, editable=False)
    rating_sum = models.PositiveIntegerField(default=0, editable=False)
    rating_count = models.PositiveIntegerField(_("ratings"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("extension listing")
        verbose_name_plural = _("extension listings")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(price_cents__lte=MAX_PRICE_CENTS), name="listing_price_max"),
            models.CheckConstraint(
                condition=Q(pricing="free", price_cents=0) | (~Q(pricing="free") & Q(price_cents__gt=0)),
                name="listing_price_matches_pricing",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_summary(self) -> str:
        """A first-party listing's summary (marked for translation in first_party.py) in the reader's
        language; a partner's summary as written."""
        from marketplace.catalog.first_party import PARTNER_SLUG

        return gettext(self.summary) if self.partner.slug == PARTNER_SLUG else self.summary

    @property
    def display_description_html(self) -> str:
        """A first-party listing's description in the reader's language (rendered from its translated
        Markdown); a partner's description as they wrote it (rendered when saved)."""
        from marketplace.catalog.first_party import PARTNER_SLUG
        from marketplace.catalog.services import markdown_render

        if self.partner.slug != PARTNER_SLUG or not self.description:
            return self.description_html
        return markdown_render(gettext(self.description))

    @property
    def is_paid(self) -> bool:
        return self.pricing != Pricing.FREE

    @property
    def price(self) -> Decimal:
        return Decimal(self.price_cents) / 100

    @property
    def rating(self) -> Decimal | None:
        if not self.rating_count:
            return None
        return (Decimal(self.rating_sum) / self.rating_count).quantize(Decimal("0.1"))


def screenshot_path(instance: Screenshot, filename: str) -> str:
    """Under listings/<id>/ with the generated name the service chose; the uploaded name is never used."""
    return f"listings/{instance.listing_id}/{filename}"


class Screenshot(models.Model):
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="screenshots")
    image = models.ImageField(_("screenshot"), upload_to=screenshot_path, max_length=255)
    caption = models.CharField(_("caption"), max_length=150, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["listing", "position", "id"]

    def __str__(self) -> str:
        return self.caption or str(self.image.name)


class ReviewState(models.TextChoices):
    SUBMITTED = "submitted", pgettext_lazy("review state", "Submitted")
    APPROVED = "approved", pgettext_lazy("review state", "Approved")
    REJECTED = "rejected", pgettext_lazy("review state", "Rejected")


class Version(models.Model):
    """One uploaded manifest; only approved versions can be installed."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="versions")
    number = models.CharField(_("version"), max_length=40)
    # Sort key: (major, minor, patch) as integers, so 1.10.0 sorts after 1.9.0.
    sort_key = models.JSONField(default=list, editable=False)
    manifest = models.JSONField(_("manifest"))
    min_platform_version = models.CharField(_("minimum platform version"), max_length=40)
    release_notes = models.TextField(_("release notes"), max_length=5000, blank=True)
    state = models.CharField(
        _("review state"), max_length=12, choices=ReviewState.choices, default=ReviewState.SUBMITTED
    )
    review_notes = models.TextField(_("review notes"), max_length=5000, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("submitted at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("extension version")
        verbose_name_plural = _("extension versions")
        ordering = ["listing", "-created_at"]
        constraints = [models.UniqueConstraint("listing", "number", name="version_listing_number_unique")]

    def __str__(self) -> str:
        return f"{self.listing} {self.number}"


class MarketplaceSettings(models.Model):
    """The operators' settings (one row): the platform's commission on extension sales."""

    commission_percent = models.DecimalField(
        _("commission (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("25.00"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("marketplace settings")
        verbose_name_plural = _("marketplace settings")

    def __str__(self) -> str:
        return str(_("Marketplace settings"))


class LicenceState(models.TextChoices):
    FREE = "free", pgettext_lazy("licence", "Free")
    PENDING = "pending", pgettext_lazy("licence", "Waiting for payment")
    TRIAL = "trial", pgettext_lazy("licence", "Trial")
    ACTIVE = "active", pgettext_lazy("licence", "Active")
    PAST_DUE = "past_due", pgettext_lazy("licence", "Payment overdue")
    CANCELLED = "cancelled", pgettext_lazy("licence", "Cancelled")


class Licence(models.Model):
    """A tenant's right to use a listing; paid states follow Stripe's events in their order."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="extension_licences")
    listing = models.ForeignKey(Listing, on_delete=models.PROTECT, related_name="licences")
    state = models.CharField(_("state"), max_length=12, choices=LicenceState.choices)
    pricing = models.CharField(max_length=20, choices=Pricing.choices)
    price_cents = models.PositiveIntegerField(default=0)
    seats = models.PositiveIntegerField(default=1)
    trial_end = models.DateTimeField(_("trial ends"), null=True, blank=True)
    stripe_checkout_session_id = models.CharField(max_length=255, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    stripe_updated = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("extension licence")
        verbose_name_plural = _("extension licences")
        constraints = [models.UniqueConstraint("tenant", "listing", name="licence_tenant_listing_unique")]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.listing_id} ({self.state})"

    @property
    def usable(self) -> bool:
        """Whether the extension may be installed / stay installed under this licence."""
        if self.state == LicenceState.TRIAL:
            return self.trial_end is None or self.trial_end > timezone.now()
        return self.state in (LicenceState.FREE, LicenceState.ACTIVE, LicenceState.PAST_DUE)


class Sale(models.Model):
    """One payment for an extension: what the tenant paid, the platform's fee and the partner's share."""

    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="sales")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="sales")
    # The Stripe object that carries the money: a PaymentIntent (one-time) or an Invoice (monthly).
    stripe_object_id = models.CharField(max_length=255, unique=True)
    # How a refund (a Charge) finds the sale: its PaymentIntent and Charge, learnt from Checkout, the
    # invoice, or the first refund found through the invoice.
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    amount_cents = models.PositiveIntegerField(_("amount (cents)"))
    fee_cents = models.PositiveIntegerField(_("commission (cents)"))
    refunded_cents = models.PositiveIntegerField(_("refunded (cents)"), default=0)
    # What the charge last said it had refunded in all (`amount_refunded` of the newest `charge.refunded`,
    # at `refund_stripe_updated`); refunds known by id (SaleRefund) are counted next to it.
    charge_refunded_cents = models.PositiveIntegerField(default=0, editable=False)
    # The part of the commission given back with refunds (in proportion to the amount refunded).
    fee_refunded_cents = models.PositiveIntegerField(_("commission reversed (cents)"), default=0)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    # Stripe time of the refund state applied last (the charge's event).
    refund_stripe_updated = models.DateTimeField(null=True, blank=True, editable=False)
    currency = models.CharField(max_length=3, default="usd")
    created_at = models.DateTimeField(_("date"), default=timezone.now)

    class Meta:
        verbose_name = _("extension sale")
        verbose_name_plural = _("extension sales")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.stripe_object_id

    @property
    def partner_cents(self) -> int:
        """The partner's share: what was kept after refunds, minus the commission that was not reversed."""
        return max(0, self.amount_cents - self.refunded_cents - (self.fee_cents - self.fee_refunded_cents))

    @property
    def refund_state(self) -> str:
        """'' (none), 'partial' or 'full'."""
        if not self.refunded_cents:
            return ""
        return "full" if self.refunded_cents >= self.amount_cents else "partial"

    @property
    def dispute(self) -> SaleDispute | None:
        """The sale's newest dispute (Stripe allows one per charge); uses prefetched `disputes`."""
        disputes = list(self.disputes.all())
        return max(disputes, key=lambda d: (d.stripe_updated or d.created_at, d.pk)) if disputes else None

    @property
    def dispute_state(self) -> str:
        """'' (none), 'open', 'won' or 'lost'."""
        dispute = self.dispute
        return dispute.state if dispute is not None else ""


class RefundStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("refund", "Pending")
    REQUIRES_ACTION = "requires_action", pgettext_lazy("refund", "Requires action")
    SUCCEEDED = "succeeded", pgettext_lazy("refund", "Succeeded")
    FAILED = "failed", pgettext_lazy("refund", "Failed")
    CANCELED = "canceled", pgettext_lazy("refund", "Cancelled")


# Refunds that take money back from the sale; a failed or cancelled one gives it back.
REFUND_COUNTING = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
REFUND_LAPSED = (RefundStatus.FAILED, RefundStatus.CANCELED)


class SaleRefund(models.Model):
    """One Stripe Refund of a sale's charge, by its id, in the state of the newest event seen."""

    stripe_refund_id = models.CharField(max_length=255, unique=True)
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="refunds")
    amount_cents = models.PositiveIntegerField(_("amount (cents)"), default=0)
    status = models.CharField(_("status"), max_length=20, choices=RefundStatus.choices, blank=True)
    # When Stripe created the refund, and the Stripe time of the state applied last.
    stripe_created = models.DateTimeField(null=True, blank=True, editable=False)
    stripe_updated = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("extension sale refund")
        verbose_name_plural = _("extension sale refunds")
        ordering = ["sale", "stripe_created", "pk"]

    def __str__(self) -> str:
        return self.stripe_refund_id


class DisputeStatus(models.TextChoices):
    WARNING_NEEDS_RESPONSE = "warning_needs_response", pgettext_lazy("dispute", "Inquiry: needs response")
    WARNING_UNDER_REVIEW = "warning_under_review", pgettext_lazy("dispute", "Inquiry: under review")
    WARNING_CLOSED = "warning_closed", pgettext_lazy("dispute", "Inquiry closed")
    NEEDS_RESPONSE = "needs_response", pgettext_lazy("dispute", "Needs response")
    UNDER_REVIEW = "under_review", pgettext_lazy("dispute", "Under review")
    PREVENTED = "prevented", pgettext_lazy("dispute", "Prevented")
    WON = "won", pgettext_lazy("dispute", "Won")
    LOST = "lost", pgettext_lazy("dispute", "Lost")


# Closed statuses where the money stays with the seller (an inquiry that never became a chargeback, a
# dispute prevented, or won).
DISPUTE_KEPT = (DisputeStatus.WARNING_CLOSED, DisputeStatus.PREVENTED, DisputeStatus.WON)


class SaleDispute(models.Model):
    """A chargeback (or an inquiry) of a sale's charge, by Stripe's dispute id, in its newest state."""

    stripe_dispute_id = models.CharField(max_length=255, unique=True)
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="disputes")
    amount_cents = models.PositiveIntegerField(_("amount (cents)"), default=0)
    status = models.CharField(_("status"), max_length=30, choices=DisputeStatus.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=50, blank=True)
    stripe_updated = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("extension sale dispute")
        verbose_name_plural = _("extension sale disputes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.stripe_dispute_id

    @property
    def state(self) -> str:
        """'lost', 'won' (the money stayed) or 'open'."""
        if self.status == DisputeStatus.LOST:
            return "lost"
        if self.status in DISPUTE_KEPT:
            return "won"
        return "open"


class Review(models.Model):
    """A tenant admin's rating (1-5) and review; one per tenant and listing."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="reviews")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    rating = models.PositiveSmallIntegerField(_("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    body = models.TextField(_("review"), max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint("listing", "tenant", name="review_once_per_tenant"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="review_rating_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.listing_id}: {self.rating}"
