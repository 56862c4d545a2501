"""Billing data in `public`: plans and their prices, one subscription per tenant, invoices seen on
Stripe, Stripe events as received, and the operators' billing actions."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenants.models import Tenant


class Period(models.TextChoices):
    MONTH = "month", _("monthly")
    YEAR = "year", _("yearly")


class PriceKind(models.TextChoices):
    BASE = "base", _("plan")
    SEAT = "seat", _("extra seat")


class Plan(models.Model):
    """What a tenant may buy: prices, seats, limits and feature entitlements. Edited by operators.

    A limit left empty means "no limit". An archived plan is no longer offered; its subscribers keep it.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    # {language: {"name": ..., "description": ...}}: the plan in other languages (the pricing page and the
    # billing page show the reader's language, else the stored name and description).
    translations = models.JSONField(_("translations"), default=dict, blank=True)
    trial_days = models.PositiveIntegerField(_("trial days"), default=14)
    included_seats = models.PositiveIntegerField(_("included seats"), default=1)
    max_members = models.PositiveIntegerField(_("members limit"), null=True, blank=True)
    max_records = models.PositiveIntegerField(_("records limit"), null=True, blank=True)
    max_storage_mb = models.PositiveIntegerField(_("file storage limit (MB)"), null=True, blank=True)
    max_api_requests_per_day = models.PositiveIntegerField(_("API requests per day limit"), null=True, blank=True)
    features = models.JSONField(
        _("features"), default=list, blank=True, help_text=_('Feature codes this plan entitles to, e.g. ["api"].')
    )
    is_public = models.BooleanField(_("public"), default=True, help_text=_("Shown on the pricing page."))
    is_default = models.BooleanField(_("default"), default=False, help_text=_("New workspaces start a trial on it."))
    archived = models.BooleanField(_("archived"), default=False, help_text=_("No longer offered; subscribers keep it."))
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    stripe_product_id = models.CharField(_("Stripe product"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="plan_one_default"),
        ]

    def __str__(self) -> str:
        return self.name

    def _translated(self, key: str, stored: str) -> str:
        """In the reader's language when translated, else as stored (plans are not a workspace's data, so
        no workspace-language fallback)."""
        from saas.value_labels import active_language

        return str((self.translations or {}).get(active_language(), {}).get(key) or stored)

    @property
    def display_name(self) -> str:
        return self._translated("name", self.name)

    @property
    def display_description(self) -> str:
        return self._translated("description", self.description)

    def clean(self) -> None:
        # Entitlements read `features` on every tenant request: anything but a list of known codes would
        # break them (a number) or silently switch features off (a string, a misspelt code).
        from billing.entitlements import KNOWN_FEATURES

        features = self.features
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise ValidationError(
                {"features": [_('Enter a list of feature codes, e.g. ["crm", "api"].')]}, code="invalid"
            )
        unknown = [f for f in features if f not in KNOWN_FEATURES]
        if unknown:
            raise ValidationError(
                {
                    "features": [
                        _("Unknown feature code: %(codes)s. Known codes: %(known)s.")
                        % {"codes": ", ".join(unknown), "known": ", ".join(KNOWN_FEATURES)}
                    ]
                },
                code="unknown",
            )


class PlanPrice(models.Model):
    """One amount of a plan in one currency and period, never edited: a change archives this row and
    adds a new one (and a new Stripe Price), so subscribers stay on what they bought until moved."""

    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="prices")
    kind = models.CharField(_("kind"), max_length=8, choices=PriceKind.choices, default=PriceKind.BASE)
    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO code in lower case, e.g. usd."))
    period = models.CharField(_("period"), max_length=8, choices=Period.choices)
    amount = models.PositiveIntegerField(_("amount (minor units)"), help_text=_("In cents: 1500 = 15.00."))
    stripe_price_id = models.CharField(_("Stripe price"), max_length=255, blank=True)
    # The Stripe Price of an archived row is deactivated (no new subscriptions) once mirrored.
    stripe_active = models.BooleanField(_("active on Stripe"), default=False)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("plan price")
        verbose_name_plural = _("plan prices")
        ordering = ["plan", "kind", "currency", "period", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "kind", "currency", "period"],
                condition=Q(archived_at__isnull=True),
                name="planprice_one_current",
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[a-z]{3}$"), name="planprice_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"{self.plan.code} {self.kind} {self.amount / 100:.2f} {self.currency.upper()}/{self.period}"


class SubscriptionStatus(models.TextChoices):
    TRIALING = "trialing", pgettext_lazy("subscription status", "Trial")
    ACTIVE = "active", pgettext_lazy("subscription status", "Active")
    PAST_DUE = "past_due", pgettext_lazy("subscription status", "Payment overdue")
    CANCELED = "canceled", pgettext_lazy("subscription status", "Canceled")
    INCOMPLETE = "incomplete", pgettext_lazy("subscription status", "Awaiting first payment")


class Subscription(models.Model):
    """A tenant's subscription (exactly one per tenant), mirroring Stripe's once the tenant has paid.

    `stripe_updated` is the Stripe time (Unix seconds) of the newest state applied; a state older
    than it is refused, so events arriving late or twice never roll the subscription back.
    """

    tenant = models.OneToOneField(
        Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, related_name="subscription"
    )
    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="subscriptions")
    price = models.ForeignKey(
        PlanPrice, verbose_name=_("price"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    seat_price = models.ForeignKey(
        PlanPrice, verbose_name=_("seat price"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.TRIALING
    )
    trial_end = models.DateTimeField(_("trial ends"), null=True, blank=True)
    current_period_end = models.DateTimeField(_("current period ends"), null=True, blank=True)
    cancel_at_period_end = models.BooleanField(_("cancels at period end"), default=False)
    seats = models.PositiveIntegerField(_("seats"), default=1, help_text=_("Active members when last counted."))
    stripe_customer_id = models.CharField(_("Stripe customer"), max_length=255, blank=True)
    stripe_subscription_id = models.CharField(_("Stripe subscription"), max_length=255, blank=True)
    stripe_updated = models.BigIntegerField(_("Stripe state time"), default=0)
    # Set when billing (not an operator) made the workspace read-only, so only billing lifts it.
    restricted_by_billing = models.BooleanField(default=False)
    # When the unpaid period began (payment failed, or a local trial ended unpaid): the dunning
    # timers count from here. Cleared when the subscription is paid again.
    past_due_since = models.DateTimeField(_("payment overdue since"), null=True, blank=True)
    # Granted by an operator: no payment is expected, dunning never applies.
    complimentary = models.BooleanField(_("complimentary"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_subscription_id"],
                condition=~Q(stripe_subscription_id=""),
                name="subscription_stripe_id_unique",
            ),
            models.UniqueConstraint(
                fields=["stripe_customer_id"],
                condition=~Q(stripe_customer_id=""),
                name="subscription_stripe_customer_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.plan_id} ({self.status})"


class CheckoutAttempt(models.Model):
    """A Stripe Checkout session an admin of the tenant opened. The same choice submitted again soon
    (a double click, the back button) gets the same session: the attempt is found by the fingerprint of
    the session's parameters, and its idempotency key makes Stripe return the session it already made
    when the first answer was lost or is still on its way."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="checkout_attempts")
    fingerprint = models.CharField(max_length=64)  # SHA-256 of the session's parameters
    stripe_session_id = models.CharField(max_length=255, blank=True)
    url = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["subscription", "fingerprint", "created_at"], name="checkoutattempt_lookup")]

    def __str__(self) -> str:
        return self.stripe_session_id or f"checkout attempt {self.pk}"


class Invoice(models.Model):
    """An invoice as Stripe last reported it (links to Stripe's hosted page and PDF)."""

    tenant = models.ForeignKey(Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, related_name="invoices")
    stripe_invoice_id = models.CharField(_("Stripe invoice"), max_length=255, unique=True)
    number = models.CharField(_("number"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=16, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    amount_due = models.IntegerField(_("amount due"), default=0)
    amount_paid = models.IntegerField(_("amount paid"), default=0)
    total = models.IntegerField(_("total"), default=0)
    hosted_invoice_url = models.URLField(_("invoice page"), max_length=1000, blank=True)
    invoice_pdf = models.URLField(_("PDF"), max_length=1000, blank=True)
    created = models.DateTimeField(_("created"), null=True, blank=True)
    stripe_updated = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["tenant", "-created"], name="invoice_tenant_created")]

    def __str__(self) -> str:
        return self.number or self.stripe_invoice_id


class StripeEvent(models.Model):
    """A Stripe webhook event as received (signature verified), stored once by its id."""

    id = models.CharField(primary_key=True, max_length=255)
    type = models.CharField(_("type"), max_length=100)
    payload = models.JSONField(_("payload"))
    created = models.BigIntegerField(_("Stripe time"), help_text=_("When Stripe created the event (Unix time)."))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["received_at"], name="stripeevent_unprocessed", condition=Q(processed_at__isnull=True))
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class BillingAction(models.TextChoices):
    PLAN_CREATED = "plan_created", _("Plan created")
    PLAN_CHANGED = "plan_changed", _("Plan changed")
    PRICE_CHANGED = "price_changed", _("Price changed")
    PLAN_MIRRORED = "plan_mirrored", _("Plan mirrored to Stripe")
    SUBSCRIPTION_CHANGED = "subscription_changed", _("Subscription changed")
    TRIAL_EXTENDED = "trial_extended", _("Trial extended")
    COMPLIMENTARY_GRANTED = "complimentary_granted", _("Complimentary plan granted")
    STATE_FORCED = "state_forced", _("Subscription state forced")


class BillingAuditEntry(models.Model):
    """What an operator did to plans or subscriptions, by whom and why. Append-only by convention."""

    at = models.DateTimeField(_("at"), default=timezone.now)
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("operator"), on_delete=models.SET_NULL, null=True, blank=True
    )
    operator_label = models.CharField(_("operator email"), max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=32, choices=BillingAction.choices)
    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.SET_NULL, null=True, blank=True)
    tenant = models.ForeignKey(Tenant, verbose_name=_("tenant"), on_delete=models.SET_NULL, null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("billing audit entry")
        verbose_name_plural = _("billing audit entries")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


class ChangeSource(models.TextChoices):
    STRIPE = "stripe", _("Stripe")
    DUNNING = "dunning", _("Dunning timer")
    OPERATOR = "operator", _("Operator")
    TRIAL = "trial", _("Trial")


class SubscriptionChange(models.Model):
    """One change of a subscription's status or dunning stage: the history operators read."""

    subscription = models.ForeignKey(
        Subscription, verbose_name=_("subscription"), on_delete=models.CASCADE, related_name="changes"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    source = models.CharField(_("source"), max_length=16, choices=ChangeSource.choices)
    from_status = models.CharField(_("from status"), max_length=16, blank=True)
    to_status = models.CharField(_("to status"), max_length=16, blank=True)
    from_stage = models.CharField(_("from stage"), max_length=16, blank=True)
    to_stage = models.CharField(_("to stage"), max_length=16, blank=True)
    plan_code = models.CharField(_("plan"), max_length=40, blank=True)
    operator_label = models.CharField(_("operator email"), max_length=254, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("subscription change")
        verbose_name_plural = _("subscription changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subscription", "-at"], name="subchange_sub_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.from_status}->{self.to_status} {self.from_stage}->{self.to_stage}"


class NoticeKind(models.TextChoices):
    TRIAL_ENDING = "trial_ending", _("Trial ending")
    TRIAL_ENDED = "trial_ended", _("Trial ended")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")
    PAYMENT_RECOVERED = "payment_recovered", _("Payment recovered")


class BillingNotice(models.Model):
    """An email sent to a tenant's admins, at most once per occurrence (the unique key is the guard
    against duplicate webhooks and repeated timer runs)."""

    tenant = models.ForeignKey(Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=24, choices=NoticeKind.choices)
    occurrence = models.CharField(_("occurrence"), max_length=255)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)

    class Meta:
        verbose_name = _("billing email")
        verbose_name_plural = _("billing emails")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "kind", "occurrence"], name="billingnotice_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.occurrence}"
