"""Dunning: what an unpaid subscription does to its workspace, over time (ADR 0012).

    past_due (banner + emails)  --BILLING_GRACE_DAYS-->  read_only  --BILLING_SUSPEND_AFTER_DAYS-->  suspended

counted from `Subscription.past_due_since` (a failed payment, or a local trial that ended unpaid).
Paying (an active or trialing subscription from Stripe, `invoice.paid`) restores everything at once.
A canceled subscription makes the workspace read-only at once and, when it was unpaid, goes on to
suspension. Nothing is ever deleted. A status an operator chose by hand is never changed here;
a complimentary subscription is never dunned.

Everything here runs with the subscription row locked (lock_objects), never while Stripe is called.
Emails go to the tenant's admins after commit, once per occurrence (`BillingNotice`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from billing.lock_objects import subscription_lock
from billing.models import BillingNotice, ChangeSource, NoticeKind, Subscription, SubscriptionChange, SubscriptionStatus
from tenants.models import BillingStage, Tenant, TenantStatus
from tenants.runtime import forget_domains
from tenants.services import tenant_set_status, tenant_url

logger = logging.getLogger(__name__)

# Statuses that mean "paid up" and lift what dunning did. INCOMPLETE (a first Checkout awaiting its
# payment) does not: an expired trial stays restricted until the payment really succeeds.
GOOD_STANDING = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING})
STAGE_ORDER = {"": 0, BillingStage.PAST_DUE: 1, BillingStage.READ_ONLY: 2, BillingStage.SUSPENDED: 3}


def grace_period() -> timedelta:
    return timedelta(days=settings.BILLING_GRACE_DAYS)


def suspend_period() -> timedelta:
    return timedelta(days=settings.BILLING_SUSPEND_AFTER_DAYS)


# History -------------------------------------------------------------------------------------------


def history_record(
    *,
    sub: Subscription,
    from_status: str,
    from_stage: str,
    source: str,
    operator_label: str = "",
    note: str = "",
) -> SubscriptionChange | None:
    """Append a change of status or stage to the subscription's history (nothing when neither changed,
    unless an operator acted)."""
    to_stage = sub.tenant.billing_stage
    if from_status == sub.status and from_stage == to_stage and source != ChangeSource.OPERATOR:
        return None
    return SubscriptionChange.objects.create(
        subscription=sub,
        source=source,
        from_status=from_status,
        to_status=sub.status,
        from_stage=from_stage,
        to_stage=to_stage,
        plan_code=sub.plan.code,
        operator_label=operator_label,
        note=note,
    )


# The workspace follows the subscription -------------------------------------------------------------


def _stage_set(tenant: Tenant, stage: str) -> None:
    if tenant.billing_stage == stage:
        return
    Tenant.objects.filter(pk=tenant.pk).update(billing_stage=stage)
    tenant.billing_stage = stage
    forget_domains()  # this process at once (and after commit, for requests that read it meanwhile)
    transaction.on_commit(forget_domains)


def _restrict(sub: Subscription, status: str) -> None:
    """Make the workspace read-only or suspended, unless an operator chose its status by hand."""
    tenant = sub.tenant
    if tenant.status == status:
        return
    if tenant.status == TenantStatus.ACTIVE or sub.restricted_by_billing:
        tenant_set_status(tenant=tenant, status=status)
        sub.restricted_by_billing = True


def _lift(sub: Subscription) -> None:
    """Give back full access, only where billing took it."""
    if sub.restricted_by_billing:
        if sub.tenant.status in (TenantStatus.READ_ONLY, TenantStatus.SUSPENDED):
            tenant_set_status(tenant=sub.tenant, status=TenantStatus.ACTIVE)
        sub.restricted_by_billing = False


def tenant_follow_subscription(
    *,
    sub: Subscription,
    previous_status: str,
    source: str = ChangeSource.STRIPE,
    now: datetime | None = None,
    operator_label: str = "",
    note: str = "",
) -> None:
    """After the subscription's status was set (row locked, not yet saved): move the workspace's access
    and dunning stage along, record the change, and queue the "payment recovered" email."""
    now = now or timezone.now()
    tenant = sub.tenant
    from_stage = tenant.billing_stage
    if sub.complimentary or sub.status in GOOD_STANDING:
        was_overdue = sub.past_due_since
        sub.past_due_since = None
        _lift(sub)
        _stage_set(tenant, "")
        if was_overdue is not None and sub.status == SubscriptionStatus.ACTIVE:
            notice_send(tenant=tenant, kind=NoticeKind.PAYMENT_RECOVERED, occurrence=was_overdue.isoformat())
    elif sub.status == SubscriptionStatus.CANCELED:
        _restrict(sub, TenantStatus.READ_ONLY)
        if STAGE_ORDER[from_stage] < STAGE_ORDER[BillingStage.READ_ONLY]:
            _stage_set(tenant, BillingStage.READ_ONLY)
    elif sub.status == SubscriptionStatus.PAST_DUE:
        if sub.past_due_since is None:
            sub.past_due_since = now
        if not from_stage:
            _stage_set(tenant, BillingStage.PAST_DUE)
    # INCOMPLETE: nothing changes until the payment succeeds or fails.
    history_record(
        sub=sub,
        from_status=previous_status,
        from_stage=from_stage,
        source=source,
        operator_label=operator_label,
        note=note,
    )


# The timers -----------------------------------------------------------------------------------------


def _advance(sub_id: int, now: datetime) -> str:
    """One subscription, locked: the next dunning step its dates call for, if any."""
    with transaction.atomic():
        sub = subscription_lock(sub_id)
        tenant = sub.tenant
        if sub.complimentary:
            return "complimentary"
        previous_status, from_stage = sub.status, tenant.billing_stage
        local_trial = not sub.stripe_subscription_id
        trial_ended = False
        if sub.status == SubscriptionStatus.TRIALING and local_trial and sub.trial_end and sub.trial_end <= now:
            # A trial of ours that ended without a payment takes the path of an unpaid invoice (and,
            # if the timer could not run for a while, catches up with it below in the same step).
            sub.status = SubscriptionStatus.PAST_DUE
            sub.past_due_since = sub.trial_end
            _stage_set(tenant, BillingStage.PAST_DUE)
            sub.save()
            history_record(sub=sub, from_status=previous_status, from_stage=from_stage, source=ChangeSource.TRIAL)
            notice_send(tenant=tenant, kind=NoticeKind.TRIAL_ENDED, occurrence=sub.trial_end.isoformat())
            previous_status, from_stage = sub.status, tenant.billing_stage
            trial_ended = True
        if sub.past_due_since is None or sub.status in GOOD_STANDING:
            return "trial_ended" if trial_ended else "none"
        overdue = now - sub.past_due_since
        stage = STAGE_ORDER[from_stage]
        if overdue >= grace_period() + suspend_period() and stage < STAGE_ORDER[BillingStage.SUSPENDED]:
            _restrict(sub, TenantStatus.SUSPENDED)
            _stage_set(tenant, BillingStage.SUSPENDED)
            outcome = "suspended"
        elif overdue >= grace_period() and stage < STAGE_ORDER[BillingStage.READ_ONLY]:
            _restrict(sub, TenantStatus.READ_ONLY)
            _stage_set(tenant, BillingStage.READ_ONLY)
            outcome = "read_only"
        else:
            return "trial_ended" if trial_ended else "none"
        sub.save()
        history_record(sub=sub, from_status=previous_status, from_stage=from_stage, source=ChangeSource.DUNNING)
        return outcome


def _trial_reminders(now: datetime) -> int:
    """Local trials (no Stripe subscription yet) ending within BILLING_TRIAL_REMINDER_DAYS: one email each."""
    soon = now + timedelta(days=settings.BILLING_TRIAL_REMINDER_DAYS)
    sent = 0
    ending = Subscription.objects.select_related("tenant").filter(
        status=SubscriptionStatus.TRIALING,
        stripe_subscription_id="",
        complimentary=False,
        trial_end__gt=now,
        trial_end__lte=soon,
    )
    for sub in ending:
        assert sub.trial_end is not None
        with transaction.atomic():
            sent += notice_send(
                tenant=sub.tenant, kind=NoticeKind.TRIAL_ENDING, occurrence=str(int(sub.trial_end.timestamp()))
            )
    return sent


def dunning_run(*, now: datetime | None = None) -> dict[str, int]:
    """Periodic: trial reminders, trials ended unpaid, and each overdue subscription's next step."""
    now = now or timezone.now()
    counts: dict[str, int] = {"trial_reminders": _trial_reminders(now)}
    due = Subscription.objects.filter(complimentary=False).exclude(past_due_since__isnull=True)
    trials = Subscription.objects.filter(
        complimentary=False, status=SubscriptionStatus.TRIALING, stripe_subscription_id="", trial_end__lte=now
    )
    ids = sorted(set(due.values_list("pk", flat=True)) | set(trials.values_list("pk", flat=True)))
    for sub_id in ids:
        try:
            outcome = _advance(sub_id, now)
        except Exception:
            logger.exception("Dunning step of subscription %s failed; retried at the next run", sub_id)
            outcome = "failed"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


# Emails ---------------------------------------------------------------------------------------------

TEMPLATES: dict[str, str] = {
    NoticeKind.TRIAL_ENDING: "billing/email/trial_ending.txt",
    NoticeKind.TRIAL_ENDED: "billing/email/trial_ended.txt",
    NoticeKind.PAYMENT_FAILED: "billing/email/payment_failed.txt",
    NoticeKind.PAYMENT_RECOVERED: "billing/email/payment_recovered.txt",
}


def _subject(kind: str, workspace: str) -> str:
    subjects: dict[str, str] = {
        NoticeKind.TRIAL_ENDING: _("Your trial of %(workspace)s ends soon"),
        NoticeKind.TRIAL_ENDED: _("Your trial of %(workspace)s has ended"),
        NoticeKind.PAYMENT_FAILED: _("Payment failed for %(workspace)s"),
        NoticeKind.PAYMENT_RECOVERED: _("Payment received: %(workspace)s is fully available again"),
    }
    return subjects[kind] % {"workspace": workspace}


def _admins(tenant: Tenant) -> list[tuple[str, str]]:
    """(email, language) of the tenant's active admins."""
    from crm_apps.access.models import Member

    with schema_context(tenant.schema_name):
        return list(
            Member.objects.filter(is_admin=True, active=True, user__is_active=True).values_list(
                "user__email", "language"
            )
        )


def notice_send(*, tenant: Tenant, kind: str, occurrence: str, context: dict[str, Any] | None = None) -> int:
    """Email the tenant's admins about `kind`, once per (tenant, kind, occurrence): a second call (a
    duplicate webhook, the next timer run) sends nothing. Sent after commit; returns 1 if queued."""
    try:
        with transaction.atomic():
            notice = BillingNotice.objects.create(tenant=tenant, kind=kind, occurrence=occurrence[:255])
    except IntegrityError:
        return 0
    from tenants.mail import mail_enqueue

    sub = Subscription.objects.select_related("plan").filter(tenant=tenant).first()
    base_context = {
        "workspace": tenant.name,
        "billing_url": tenant_url(tenant.schema_name, "/settings/billing/"),
        "plan": sub.plan.name if sub else "",
        "trial_end": sub.trial_end if sub else None,
        "grace_days": settings.BILLING_GRACE_DAYS,
        "suspend_days": settings.BILLING_SUSPEND_AFTER_DAYS,
        **(context or {}),
    }
    admins = _admins(tenant)
    by_language: dict[str, list[str]] = {}
    for email, language in admins:
        by_language.setdefault(language or settings.LANGUAGE_CODE, []).append(email)
    for language, emails in by_language.items():
        with translation.override(language):
            for email in emails:  # one message each: admins never see each other's addresses
                mail_enqueue(
                    to=[email],
                    subject=_subject(kind, tenant.name),
                    template=TEMPLATES[kind],
                    context=base_context,
                )
    BillingNotice.objects.filter(pk=notice.pk).update(recipients=len(admins))
    return 1
