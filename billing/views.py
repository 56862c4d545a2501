"""Billing screens: the public pricing page (bare domain) and a tenant's billing page (admins and members
allowed to manage billing). Thin: they call selectors and services."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from billing import gateway, selectors, services
from billing.dunning import grace_period, suspend_period
from billing.models import Period, Plan, Subscription, SubscriptionStatus
from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from tenants.models import Tenant
from tenants.services import tenant_url

View = Callable[..., HttpResponseBase]


# The public pricing page ----------------------------------------------------------------------------


def pricing(request: HttpRequest) -> HttpResponse:
    plans = list(selectors.plan_list_public())
    currencies = selectors.currencies_of(plans)
    currency = request.GET.get("currency", "")
    if currency not in currencies:
        currency = currencies[0] if currencies else settings.BILLING_DEFAULT_CURRENCY
    offers = selectors.plan_offers(plans=plans, currency=currency)
    return render(
        request,
        "billing/pricing.html",
        {
            "offers": offers,
            "currencies": currencies,
            "currency": currency,
            "comparison": selectors.plan_comparison(offers=offers),
        },
    )


# A tenant's billing page ----------------------------------------------------------------------------


def billing_view(view: View) -> View:
    """The admin_view rule with the "manage billing" privilege (every admin holds it); the view also gets
    the request's tenant. A partner's sandbox is never billed: every billing screen and action there
    shows the "not billed" page and starts or changes nothing (no trial, no plan, no Stripe call)."""

    @admin_view(privilege=Privilege.MANAGE_BILLING)
    @wraps(view)
    def wrapper(request: HttpRequest, actor: Member, *args: Any, **kwargs: Any) -> HttpResponseBase:
        tenant: Tenant = request.tenant  # type: ignore[attr-defined]
        if tenant.is_sandbox:
            return render(request, "billing/sandbox.html", status=200 if request.method == "GET" else 409)
        return view(request, actor, tenant, *args, **kwargs)

    return wrapper


class ChoosePlanForm(forms.Form):
    plan = forms.ChoiceField(label=gettext_lazy("Plan"))
    period = forms.ChoiceField(label=gettext_lazy("Billed"), choices=Period.choices, widget=forms.RadioSelect)
    currency = forms.ChoiceField(label=gettext_lazy("Currency"))

    def __init__(self, *args: Any, plans: list[Plan], currencies: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plans = {plan.code: plan for plan in plans}
        self.fields["plan"].choices = [(plan.code, plan.name) for plan in plans]  # type: ignore[attr-defined]
        self.fields["currency"].choices = [(c, c.upper()) for c in currencies]  # type: ignore[attr-defined]


def _plan_form(sub: Subscription, data: Any = None) -> tuple[ChoosePlanForm, list[Plan]]:
    plans = selectors.plan_list_choosable(current=sub.plan)
    currencies = selectors.currencies_of(plans)
    if sub.price is not None and services.has_live_stripe_subscription(sub):
        currencies = [sub.price.currency]  # a Stripe subscription keeps its currency
    initial = {
        "plan": sub.plan.code,
        "period": sub.price.period if sub.price else Period.MONTH,
        "currency": sub.price.currency if sub.price else (currencies[0] if currencies else ""),
    }
    return ChoosePlanForm(data, initial=initial, plans=plans, currencies=currencies), plans


def _next_invoice(sub: Subscription) -> dict[str, Any] | None:
    """An estimate from the prices we know (Stripe's invoice adds prorations and taxes)."""
    live = services.has_live_stripe_subscription(sub)
    if not live or sub.cancel_at_period_end or sub.price is None or sub.current_period_end is None:
        return None
    amount = sub.price.amount
    extra = services.extra_seats(seats=sub.seats, plan=sub.plan)
    if sub.seat_price is not None:
        amount += sub.seat_price.amount * extra
    return {"date": sub.current_period_end, "amount": amount, "currency": sub.price.currency}


def _dunning_dates(sub: Subscription) -> dict[str, Any] | None:
    """When an overdue workspace turns read-only and then suspended (unless it is paid before)."""
    if sub.past_due_since is None:
        return None
    read_only = sub.past_due_since + grace_period()
    return {"since": sub.past_due_since, "read_only": read_only, "suspended": read_only + suspend_period()}


@billing_view
def page(request: HttpRequest, actor: Member, tenant: Tenant) -> HttpResponse:
    sub = services.subscription_ensure(tenant=tenant)
    if sub is None:
        return render(request, "billing/page.html", {"sub": None, "configured": gateway.is_configured()})
    form, plans = _plan_form(sub)
    checkout = request.GET.get("checkout")
    if checkout == "success":
        messages.success(request, _("Thank you! Your payment is being confirmed; this page updates in a moment."))
    elif checkout == "canceled":
        messages.info(request, _("Checkout was canceled; nothing was charged."))
    seats_used = selectors.active_member_count(tenant=tenant)
    live = services.has_live_stripe_subscription(sub)
    trial_over = (
        sub.status == SubscriptionStatus.TRIALING
        and not live
        and sub.trial_end is not None
        and sub.trial_end < timezone.now()
    )
    context = {
        "sub": sub,
        "configured": gateway.is_configured(),
        "live": live,
        "trialing": sub.status == SubscriptionStatus.TRIALING,
        "trial_over": trial_over,
        "seats_used": seats_used,
        "extra_seats": services.extra_seats(seats=seats_used, plan=sub.plan),
        "usage": selectors.usage_list(tenant=tenant, plan=sub.plan),
        "invoices": selectors.invoice_list(tenant=tenant),
        "next_invoice": _next_invoice(sub),
        "dunning": _dunning_dates(sub),
        "form": form,
        "offers": selectors.plan_offers(plans=plans, currency=form.initial.get("currency") or ""),
    }
    return render(request, "billing/page.html", context)


def _back() -> HttpResponseRedirect:
    return redirect("billing:page")


def _run(request: HttpRequest, action: Callable[[], HttpResponseRedirect]) -> HttpResponseRedirect:
    """Turn the ways a billing action can fail into a message on the billing page."""
    try:
        return action()
    except gateway.PaymentsNotConfigured:
        messages.error(request, _("Payments are not configured on this platform yet."))
    except services.BillingError as exc:
        messages.error(request, str(exc))
    except gateway.GatewayError:
        messages.error(request, _("The payment provider could not be reached. Nothing was changed; please try again."))
    return _back()


@require_POST
@billing_view
def choose(request: HttpRequest, actor: Member, tenant: Tenant) -> HttpResponseRedirect:
    sub = services.subscription_ensure(tenant=tenant)
    if sub is None:
        messages.error(request, _("No plan is available right now. Please contact support."))
        return _back()
    form, _plans = _plan_form(sub, request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a plan, a billing period and a currency."))
        return _back()
    plan = form.plans[form.cleaned_data["plan"]]

    def action() -> HttpResponseRedirect:
        page_url = tenant_url(tenant.schema_name, reverse("billing:page"))
        url = services.subscription_choose_plan(
            actor=actor,
            tenant=tenant,
            plan=plan,
            period=form.cleaned_data["period"],
            currency=form.cleaned_data["currency"],
            email=actor.user.email,
            success_url=f"{page_url}?checkout=success",
            cancel_url=f"{page_url}?checkout=canceled",
        )
        if url:
            return HttpResponseRedirect(url, status=303)  # Stripe Checkout
        messages.success(request, _("Your plan was changed. The difference is prorated on your next invoice."))
        return _back()

    return _run(request, action)


@require_POST
@billing_view
def portal(request: HttpRequest, actor: Member, tenant: Tenant) -> HttpResponseRedirect:
    def action() -> HttpResponseRedirect:
        url = services.portal_session_url(
            actor=actor,
            tenant=tenant,
            email=actor.user.email,
            return_url=tenant_url(tenant.schema_name, reverse("billing:page")),
        )
        return HttpResponseRedirect(url, status=303)

    return _run(request, action)


@require_POST
@billing_view
def cancel(request: HttpRequest, actor: Member, tenant: Tenant) -> HttpResponseRedirect:
    def action() -> HttpResponseRedirect:
        services.subscription_cancel(actor=actor, tenant=tenant)
        messages.success(request, _("Your subscription will end at the end of the paid period."))
        return _back()

    return _run(request, action)


@require_POST
@billing_view
def resume(request: HttpRequest, actor: Member, tenant: Tenant) -> HttpResponseRedirect:
    def action() -> HttpResponseRedirect:
        services.subscription_cancel(actor=actor, tenant=tenant, resume=True)
        messages.success(request, _("Your subscription continues."))
        return _back()

    return _run(request, action)
