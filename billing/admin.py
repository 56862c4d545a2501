"""The operator console for billing (Django admin on the bare domain, staff only).

Plans are edited here; prices are never edited in place: a new amount is added as a new price (the
current one of that plan/kind/currency/period is archived), and removing a price archives it. Every
change asks for a reason and lands in the billing audit trail. After saving, the plan is mirrored to
Stripe (skipped, with a message, when no Stripe key is configured).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from billing import gateway
from billing.events import stripe_event_process
from billing.models import (
    BillingAuditEntry,
    BillingNotice,
    Invoice,
    Plan,
    PlanPrice,
    StripeEvent,
    Subscription,
    SubscriptionChange,
    SubscriptionStatus,
)
from billing.selectors import billing_overview
from billing.services import (
    FORCEABLE_STATUSES,
    MAX_TRIAL_EXTENSION_DAYS,
    plan_mirror,
    plan_price_remove,
    plan_price_set,
    plan_save,
    subscription_extend_trial,
    subscription_force_state,
    subscription_grant_complimentary,
)
from frontend.forms import form_add_service_errors
from tenants.models import BillingStage, User


class PlanForm(forms.ModelForm):
    reason = forms.CharField(
        label=_("Reason for this change"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the billing audit trail with your name."),
    )

    class Meta:
        model = Plan
        fields = (
            "code",
            "name",
            "description",
            "sort_order",
            "is_public",
            "is_default",
            "archived",
            "trial_days",
            "included_seats",
            "max_members",
            "max_records",
            "max_storage_mb",
            "max_api_requests_per_day",
            "features",
        )

    def _get_validation_exclusions(self) -> set[str]:
        # "Only one default plan" is not a form error: plan_save moves the default from the previous plan.
        exclude: set[str] = super()._get_validation_exclusions()  # type: ignore[misc]
        exclude.add("is_default")
        return exclude


class CurrentPriceInline(admin.TabularInline):
    """Prices as they are; ticking "delete" archives a price (subscribers keep it)."""

    model = PlanPrice
    verbose_name = _("price")
    verbose_name_plural = _("prices (tick to archive)")
    extra = 0
    fields = ("kind", "currency", "period", "amount", "stripe_price_id", "created_at")
    readonly_fields = fields
    ordering = ("kind", "currency", "period")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PlanPrice]:
        return super().get_queryset(request).filter(archived_at__isnull=True)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        # "Delete" archives (save_formset), so a price subscribers are on may be ticked: the admin's
        # check for protected related objects does not apply.
        setattr(formset.form, "hand_clean_DELETE", lambda form: None)  # noqa: B010
        return formset


class NewPriceInline(admin.TabularInline):
    """A new amount for a plan/kind/currency/period; the current one is archived when it is saved."""

    model = PlanPrice
    verbose_name = _("new price")
    verbose_name_plural = _("new prices (replace the current price of the same kind, currency and period)")
    extra = 1
    fields = ("kind", "currency", "period", "amount")
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[PlanPrice]:
        return super().get_queryset(request).none()


class ArchivedPriceInline(admin.TabularInline):
    model = PlanPrice
    verbose_name = _("archived price")
    verbose_name_plural = _("archived prices")
    extra = 0
    fields = ("kind", "currency", "period", "amount", "stripe_price_id", "stripe_active", "archived_at")
    readonly_fields = fields
    can_delete = False
    classes = ("collapse",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PlanPrice]:
        return super().get_queryset(request).filter(archived_at__isnull=False)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


SAVED_PLAN = "_billing_saved_plan"


def _operator(request: HttpRequest) -> User:
    """The signed-in operator (the admin site lets only staff users in)."""
    return cast(User, request.user)


def _mirror(request: HttpRequest, plan: Plan) -> None:
    if not gateway.is_configured():
        messages.info(request, gettext("Stripe is not configured: the plan was saved here only, not mirrored."))
        return
    try:
        plan_mirror(plan=plan, operator=_operator(request))
    except gateway.GatewayError as exc:
        messages.warning(request, gettext("Saved, but mirroring to Stripe failed: %(error)s") % {"error": exc})
    else:
        messages.success(request, gettext("Mirrored to Stripe."))


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    form = PlanForm
    list_display = ("code", "name", "is_public", "is_default", "archived", "included_seats", "trial_days", "prices")
    list_filter = ("is_public", "archived")
    search_fields = ("code", "name")
    readonly_fields = ("stripe_product_id", "created_at", "updated_at")
    inlines = [CurrentPriceInline, NewPriceInline, ArchivedPriceInline]
    actions = ["mirror_to_stripe"]
    fieldsets = (
        (None, {"fields": ("code", "name", "description", "sort_order")}),
        (_("Offer"), {"fields": ("is_public", "is_default", "archived", "trial_days")}),
        (
            _("Seats and limits"),
            {
                "fields": (
                    "included_seats",
                    "max_members",
                    "max_records",
                    "max_storage_mb",
                    "max_api_requests_per_day",
                    "features",
                )
            },
        ),
        (_("Change"), {"fields": ("reason",)}),
        (_("Stripe"), {"fields": ("stripe_product_id", "created_at", "updated_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Plan]:
        return super().get_queryset(request).prefetch_related("prices")

    @admin.display(description=_("current prices"))
    def prices(self, obj: Plan) -> str:
        current = [p for p in obj.prices.all() if p.archived_at is None]
        return ", ".join(f"{p.kind} {p.amount / 100:.2f} {p.currency.upper()}/{p.period}" for p in current)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # archive instead: subscribers keep their plan

    def save_model(self, request: HttpRequest, obj: Plan, form: Any, change: bool) -> None:
        plan_save(
            plan=obj,
            operator=_operator(request),
            reason=form.cleaned_data["reason"],
            changed=list(form.changed_data),
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not PlanPrice:
            super().save_formset(request, form, formset, change)
            return
        reason = form.cleaned_data["reason"]
        new_rows = formset.save(commit=False)
        for price in formset.deleted_objects:
            plan_price_remove(price=price, operator=_operator(request), reason=reason)
        for price in new_rows:
            if price.pk is None:
                plan_price_set(
                    plan=form.instance,
                    kind=price.kind,
                    currency=price.currency,
                    period=price.period,
                    amount=price.amount,
                    operator=_operator(request),
                    reason=reason,
                )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        setattr(request, SAVED_PLAN, form.instance.pk)  # mirrored by changeform_view, after the commit

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        # Stripe is called once the admin's transaction committed the plan and its prices, never inside it.
        response = super().changeform_view(request, object_id, form_url, extra_context)
        plan_id = getattr(request, SAVED_PLAN, None)
        if plan_id is not None:
            _mirror(request, Plan.objects.get(pk=plan_id))
        return response

    @admin.action(description=_("Mirror selected plans to Stripe"))
    def mirror_to_stripe(self, request: HttpRequest, queryset: QuerySet[Plan]) -> None:
        for plan in queryset:
            _mirror(request, plan)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SubscriptionChangeInline(admin.TabularInline):
    model = SubscriptionChange
    verbose_name = _("history entry")
    verbose_name_plural = _("history (status and dunning stage changes)")
    extra = 0
    fields = (
        "at",
        "source",
        "from_status",
        "to_status",
        "from_stage",
        "to_stage",
        "plan_code",
        "operator_label",
        "note",
    )
    readonly_fields = fields
    can_delete = False
    ordering = ("-at", "-id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ExtendTrialForm(forms.Form):
    days = forms.IntegerField(
        label=_("Days to add"), min_value=1, max_value=MAX_TRIAL_EXTENSION_DAYS, help_text=_("From 1 to 365.")
    )
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class GrantForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("Plan"), queryset=Plan.objects.filter(archived=False))
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class ForceStateForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=[(s.value, s.label) for s in FORCEABLE_STATUSES])
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


SUBSCRIPTION_ACTIONS: dict[str, tuple[Any, Any, Any]] = {
    # slug: (title, form, service call)
    "extend-trial": (
        _("Extend the trial"),
        ExtendTrialForm,
        lambda operator, tenant, data: subscription_extend_trial(
            operator=operator, tenant=tenant, days=data["days"], reason=data["reason"]
        ),
    ),
    "grant": (
        _("Grant a complimentary plan"),
        GrantForm,
        lambda operator, tenant, data: subscription_grant_complimentary(
            operator=operator, tenant=tenant, plan=data["plan"], reason=data["reason"]
        ),
    ),
    "force-state": (
        _("Force a state"),
        ForceStateForm,
        lambda operator, tenant, data: subscription_force_state(
            operator=operator, tenant=tenant, status=data["status"], reason=data["reason"]
        ),
    ),
}


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    """Subscriptions are read-only here; operators act through the three actions on each one (a reason
    is required, and they land in the billing audit trail and the subscription's history)."""

    list_display = (
        "tenant",
        "plan",
        "status",
        "stage",
        "complimentary",
        "seats",
        "trial_end",
        "current_period_end",
        "past_due_since",
    )
    list_filter = ("status", "plan", "complimentary", "tenant__billing_stage")
    search_fields = ("tenant__schema_name", "tenant__name", "stripe_customer_id", "stripe_subscription_id")
    list_select_related = ("tenant", "plan")
    inlines = [SubscriptionChangeInline]
    change_form_template = "admin/billing/subscription_change_form.html"
    change_list_template = "admin/billing/subscription_change_list.html"

    @admin.display(description=_("dunning stage"))
    def stage(self, obj: Subscription) -> str:
        return obj.tenant.get_billing_stage_display() or "—"

    def get_urls(self) -> list[Any]:
        urls = [
            path("overview/", self.admin_site.admin_view(self.overview_view), name="billing_overview"),
            path(
                "<int:pk>/act/<slug:action>/",
                self.admin_site.admin_view(self.action_view),
                name="billing_subscription_action",
            ),
        ]
        return urls + super().get_urls()

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Billing overview"),
            "overview": billing_overview(),
            "statuses": SubscriptionStatus.choices,
            "stages": BillingStage.choices,
            "recent": SubscriptionChange.objects.select_related("subscription__tenant").order_by("-at", "-id")[:25],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/overview.html", context)

    def action_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if action not in SUBSCRIPTION_ACTIONS:
            raise Http404
        if not request.user.has_perm("billing.change_subscription"):
            raise PermissionDenied
        sub = get_object_or_404(Subscription.objects.select_related("tenant", "plan"), pk=pk)
        title, form_class, call = SUBSCRIPTION_ACTIONS[action]
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                call(_operator(request), sub.tenant, form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(
                    request, gettext("Done: %(action)s (%(tenant)s).") % {"action": title, "tenant": sub.tenant}
                )
                return redirect("admin:billing_subscription_change", sub.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: {sub.tenant}",
            "form": form,
            "subscription": sub,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/subscription_action.html", context)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("number", "tenant", "status", "total", "currency", "created")
    list_filter = ("status",)
    search_fields = ("number", "stripe_invoice_id", "tenant__schema_name")
    list_select_related = ("tenant",)


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "type", "received_at", "processed_at", "attempts", "error")
    list_filter = ("type",)
    search_fields = ("id",)
    actions = ["process_again"]

    @admin.action(description=_("Process the selected unprocessed events again"))
    def process_again(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        outcomes = [stripe_event_process(event_id=event.pk) for event in queryset.filter(processed_at__isnull=True)]
        messages.info(request, gettext("%(n)d event(s) processed.") % {"n": len(outcomes)})


@admin.register(BillingAuditEntry)
class BillingAuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "operator_label", "action", "plan", "tenant", "reason")
    list_filter = ("action",)
    search_fields = ("operator_label", "reason", "plan__code", "tenant__schema_name")
    list_select_related = ("plan", "tenant")


@admin.register(BillingNotice)
class BillingNoticeAdmin(ReadOnlyAdmin):
    list_display = ("sent_at", "tenant", "kind", "occurrence", "recipients")
    list_filter = ("kind",)
    search_fields = ("tenant__schema_name", "occurrence")
    list_select_related = ("tenant",)
