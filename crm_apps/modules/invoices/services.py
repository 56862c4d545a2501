"""Invoice behaviour: payments (received, balance, payment status), the daily overdue check and
recurring invoices generated from sales orders."""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.audit import services as audit
from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create
from crm_apps.inventory.conversions import _doc_taxes, _header, _lines
from crm_apps.inventory.totals import minor_unit, money_round
from crm_apps.modules.invoices.models import Invoice, Payment, PaymentStatus, RecurringInvoicePeriod

logger = logging.getLogger(__name__)

PAID_STATUS = "Paid"
CANCELLED_STATUS = "Cancel"


def _status_for(invoice: Invoice, received: Decimal, today: dt.date) -> str:
    if invoice.grand_total > 0 and received >= invoice.grand_total:
        return PaymentStatus.PAID
    if invoice.due_date is not None and invoice.due_date < today:
        return PaymentStatus.OVERDUE
    return PaymentStatus.PARTIALLY_PAID if received > 0 else PaymentStatus.UNPAID


def invoice_balance_refresh(invoice: Invoice, *, today: dt.date | None = None) -> dict[str, list[Any]]:
    """Recompute received, balance and payment status from the payments (the invoice row is locked by
    the caller); returns the changes for the timeline."""
    today = today or timezone.localdate()
    places = minor_unit(invoice.currency)
    received = invoice.payments.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    received = money_round(received, places)
    balance = money_round(Decimal(invoice.grand_total) - received, places)
    state = _status_for(invoice, received, today)
    changes: dict[str, list[Any]] = {}
    for name, value in (("received", received), ("balance", balance), ("payment_status", state)):
        old = getattr(invoice, name)
        if old != value:
            changes[name] = [str(old), str(value)]
            setattr(invoice, name, value)
    if state == PaymentStatus.PAID and invoice.status != PAID_STATUS:
        changes["status"] = [invoice.status, PAID_STATUS]
        invoice.status = PAID_STATUS
    return changes


def _save_derived(invoice: Invoice, changes: dict[str, list[Any]], actor: Member | None) -> None:
    if not changes:
        return
    invoice.version += 1
    invoice.updated_at = timezone.now()
    Invoice.objects.filter(pk=invoice.pk).update(
        received=invoice.received,
        balance=invoice.balance,
        payment_status=invoice.payment_status,
        status=invoice.status,
        version=invoice.version,
        updated_at=invoice.updated_at,
    )
    TimelineEntry.objects.create(
        module="invoices", record_id=invoice.pk, kind=TimelineEntry.Kind.UPDATED, actor=actor, data={"changes": changes}
    )


MAX_AMOUNT = Decimal(10) ** 15


def payment_record(
    *, actor: Member, invoice: Invoice, amount: Any, paid_on: Any = None, method: str = "", reference: str = ""
) -> Payment:
    """Record a payment on an invoice the actor may edit; the balance and payment status follow."""
    spec = registry.get("invoices")
    errors: dict[str, list[str]] = {}
    try:
        value = Decimal(str(amount).strip().replace(",", "."))
        if not value.is_finite() or value <= 0:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["amount"] = [_("Enter an amount greater than zero.")]
        value = Decimal(0)
    if value >= MAX_AMOUNT:  # the money fields hold 15 digits before the point (max_digits 18, 3 places)
        errors["amount"] = [_("Enter an amount below 1,000,000,000,000,000.")]
        value = Decimal(0)
    if paid_on in (None, ""):
        day = timezone.localdate()
    elif isinstance(paid_on, dt.date):
        day = paid_on
    else:
        try:
            day = dt.date.fromisoformat(str(paid_on))
        except ValueError:
            errors["paid_on"] = [_("Enter a valid date.")]
            day = timezone.localdate()
    method = method or Payment.Method.BANK_TRANSFER
    if method not in Payment.Method.values:
        errors["method"] = [_("Choose one of the methods.")]
    if len(reference or "") > 200:
        errors["reference"] = [_("At most 200 characters.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().filter(pk=invoice.pk, deleted_at__isnull=True).first()
        if locked is None or not visibility.can_edit(actor=actor, spec=spec, record=locked):
            raise PermissionDenied
        if locked.status == CANCELLED_STATUS:
            raise ValidationError({"amount": [_("A cancelled invoice takes no payments.")]})
        places = minor_unit(locked.currency)
        if value.as_tuple().exponent < -places:  # type: ignore[operator]
            raise ValidationError(
                {
                    "amount": [
                        _("At most %(n)d decimal places in %(currency)s.") % {"n": places, "currency": locked.currency}
                    ]
                }
            )
        payment = Payment.objects.create(
            invoice=locked,
            amount=money_round(value, places),
            paid_on=day,
            method=method,
            reference=(reference or "").strip(),
            created_by=actor,
        )
        changes = invoice_balance_refresh(locked)
        changes["payment"] = ["", f"{value} {locked.currency} · {day.isoformat()}"]
        _save_derived(locked, changes, actor)
        audit.audit_log(
            action=audit.RECORD_UPDATED,
            actor=actor,
            module="invoices",
            record_id=locked.pk,
            record_label=str(locked),
            changes=changes,
            details={"payment": payment.pk},
        )
    return payment


def payment_delete(*, actor: Member, payment: Payment) -> None:
    spec = registry.get("invoices")
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().filter(pk=payment.invoice_id, deleted_at__isnull=True).first()
        if locked is None or not visibility.can_edit(actor=actor, spec=spec, record=locked):
            raise PermissionDenied
        label = f"{payment.amount} {locked.currency} · {payment.paid_on.isoformat()}"
        Payment.objects.filter(pk=payment.pk).delete()
        changes = invoice_balance_refresh(locked)
        changes["payment"] = [label, ""]
        _save_derived(locked, changes, actor)


def invoices_overdue_mark(*, today: dt.date | None = None) -> int:
    """The daily check: open invoices past their due date become overdue (one UPDATE)."""
    today = today or timezone.localdate()
    ids = list(
        Invoice.objects.filter(
            deleted_at__isnull=True,
            payment_status__in=[PaymentStatus.UNPAID, PaymentStatus.PARTIALLY_PAID],
            due_date__lt=today,
        )
        .exclude(status=CANCELLED_STATUS)
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    with transaction.atomic():
        Invoice.objects.filter(pk__in=ids).update(payment_status=PaymentStatus.OVERDUE)
        TimelineEntry.objects.bulk_create(
            [
                TimelineEntry(
                    module="invoices",
                    record_id=pk,
                    kind=TimelineEntry.Kind.UPDATED,
                    actor=None,
                    data={"changes": {"payment_status": ["", str(PaymentStatus.OVERDUE)]}},
                )
                for pk in ids
            ]
        )
    return len(ids)


# --- Recurring invoices -----------------------------------------------------------------------------


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_starts(*, frequency: str, start: dt.date, end: dt.date | None, today: dt.date) -> list[dt.date]:
    """Every period start from `start` up to today (and not after `end`)."""
    last = min(today, end) if end else today
    starts = []
    index = 0
    while index < 10_000:
        if frequency == "daily":
            day = start + dt.timedelta(days=index)
        elif frequency == "weekly":
            day = start + dt.timedelta(weeks=index)
        elif frequency == "monthly":
            day = _add_months(start, index)
        elif frequency == "quarterly":
            day = _add_months(start, 3 * index)
        elif frequency == "yearly":
            day = _add_months(start, 12 * index)
        else:
            return []
        if day > last:
            break
        starts.append(day)
        index += 1
    return starts


def recurring_invoices_generate(*, today: dt.date | None = None) -> int:
    """Create the invoices due for every recurring sales order: one per (order, period), catching up
    the periods a stopped scheduler missed. Exactly once: each period first claims its row in
    RecurringInvoicePeriod (unique per order and period); a second scheduler waits on the first's
    insert, then fails on the key and skips, so two schedulers never invoice a period twice."""
    from crm_apps.modules.salesorders.models import SalesOrder

    today = today or timezone.localdate()
    spec = registry.get("invoices")
    created = 0
    orders = SalesOrder.objects.filter(recurring_enabled=True, deleted_at__isnull=True, recurring_start__lte=today)
    for order in orders.order_by("pk"):
        done = set(RecurringInvoicePeriod.objects.filter(sales_order=order).values_list("period_start", flat=True))
        for start in period_starts(
            frequency=order.recurring_frequency, start=order.recurring_start, end=order.recurring_end, today=today
        ):
            if start in done:
                continue
            try:
                with transaction.atomic():
                    claim = RecurringInvoicePeriod.objects.create(sales_order=order, period_start=start)
                    invoice = _recurring_invoice(spec, order, start)
                    claim.invoice = invoice
                    claim.save(update_fields=["invoice"])
                    type(order).objects.filter(pk=order.pk).update(last_recurring_date=start)
            except IntegrityError:
                continue  # another scheduler invoiced this period
            except (PermissionDenied, ValidationError):
                logger.warning("recurring invoice of %s for %s not created", order.pk, start, exc_info=True)
                break
            created += 1
    return created


def _recurring_invoice(spec: Any, order: Any, start: dt.date) -> Invoice:
    """The invoice of one period, as the order's owner (no request: the scheduler acts for them)."""
    actor = order.owner
    data = _header(order, spec)
    data.update(
        {
            "sales_order": str(order.pk),
            "invoice_date": start.isoformat(),
            "due_date": (start + dt.timedelta(days=order.payment_terms_days or 0)).isoformat(),
            "status": order.recurring_invoice_status or "AutoCreated",
            "subject": f"{order.subject} ({start.isoformat()})"[:200],
        }
    )
    if actor is None:
        raise ValidationError(_("A recurring sales order needs an owner."))
    # The owner's rights apply (record_create checks them): an owner who may not create invoices gets
    # none, the claim rolls back and the period is retried on the next run.
    return record_create(
        spec=spec, actor=actor, data=data, children={"lines": _lines(order), "taxes": _doc_taxes(order)}
    )
