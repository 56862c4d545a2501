"""The operator console for partners (Django admin on the bare domain, staff only).

Operators see and edit partners (hide one from the directory with "active"), their teams, leads,
invitations and delegated access grants, and set the authorised listing prices. The authorised badge
follows Stripe; operators can only revoke it with a reason (and lift their revocation).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from marketplace.partners.models import (
    ListingPrice,
    Partner,
    PartnerAccess,
    PartnerInvitation,
    PartnerLead,
    PartnerMember,
    Payout,
)
from marketplace.partners.services import partner_badge_restore, partner_badge_revoke, partners_approve

LISTING_FIELDS = (
    "is_authorised",
    "authorised_since",
    "listing_state",
    "listing_period",
    "listing_period_end",
    "listing_stripe_customer_id",
    "listing_stripe_subscription_id",
    "badge_revoked_at",
    "badge_revoked_reason",
    "badge_revoked_by",
)
CONNECT_FIELDS = (
    "stripe_account_id",
    "stripe_details_submitted",
    "stripe_charges_enabled",
    "stripe_payouts_enabled",
    "stripe_requirements_due",
    "stripe_disabled_reason",
)


class PartnerMemberInline(admin.TabularInline):
    model = PartnerMember
    extra = 0
    autocomplete_fields = ("user",)
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)


class ApprovalFilter(admin.SimpleListFilter):
    title = gettext_lazy("directory approval")
    parameter_name = "approval"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("waiting", gettext_lazy("Waiting for approval")), ("approved", gettext_lazy("Approved"))]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "waiting":
            return queryset.filter(approved_at__isnull=True)
        if self.value() == "approved":
            return queryset.filter(approved_at__isnull=False)
        return queryset


class RevokeBadgeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("Shown to the partner in its portal."),
    )


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "is_active", "approved_at", "is_authorised", "listing_state", "created_at")
    list_filter = (ApprovalFilter, "is_active", "is_authorised", "listing_state")
    search_fields = ("name", "slug", "website")
    readonly_fields = (
        *LISTING_FIELDS,
        *CONNECT_FIELDS,
        "logo",
        "approved_at",
        "approved_by",
        "created_at",
        "updated_at",
    )
    actions = ("approve_for_directory", "hide_from_directory", "show_in_directory")
    inlines = (PartnerMemberInline,)
    fieldsets = (
        (
            None,
            {"fields": ("name", "slug", "is_active", "approved_at", "approved_by", "website", "description", "logo")},
        ),
        (
            _("Profile"),
            {"fields": ("countries", "regions", "languages", "services", "industries", "certifications")},
        ),
        (_("Authorised listing"), {"fields": LISTING_FIELDS}),
        (_("Stripe Connect"), {"fields": CONNECT_FIELDS}),
        (None, {"fields": ("created_at", "updated_at")}),
    )
    change_form_template = "partners/admin/partner_change_form.html"

    @admin.action(description=gettext_lazy("Approve for the public directory"))
    def approve_for_directory(self, request: HttpRequest, queryset: Any) -> None:
        approved, incomplete = partners_approve(operator=request.user, partners=list(queryset))  # type: ignore[arg-type]
        if approved:
            self.message_user(request, gettext("%(n)d partner(s) approved.") % {"n": approved}, messages.SUCCESS)
        for partner in incomplete:
            self.message_user(
                request,
                gettext("%(name)s approved, but not listed until the profile has %(missing)s.")
                % {"name": partner.name, "missing": ", ".join(partner.profile_missing())},
                messages.WARNING,
            )

    @admin.action(description=gettext_lazy("Hide from the public directory"))
    def hide_from_directory(self, request: HttpRequest, queryset: Any) -> None:
        count = queryset.update(is_active=False)
        self.message_user(request, gettext("%(n)d partner(s) hidden.") % {"n": count}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Show in the public directory again"))
    def show_in_directory(self, request: HttpRequest, queryset: Any) -> None:
        count = queryset.update(is_active=True)
        self.message_user(request, gettext("%(n)d partner(s) shown again.") % {"n": count}, messages.SUCCESS)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting would drop the grants without deactivating the partner's members in the tenants
        # that gave access; operators hide a partner ("active") instead.
        return False

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:partner_id>/revoke-badge/",
                self.admin_site.admin_view(self.revoke_badge_view),
                name="partners_partner_revoke_badge",
            ),
            path(
                "<int:partner_id>/restore-badge/",
                self.admin_site.admin_view(self.restore_badge_view),
                name="partners_partner_restore_badge",
            ),
        ]
        return own + super().get_urls()

    def revoke_badge_view(self, request: HttpRequest, partner_id: int) -> HttpResponse:
        partner = get_object_or_404(Partner, pk=partner_id)
        if not self.has_change_permission(request, partner):
            return HttpResponse(status=403)
        form = RevokeBadgeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                partner_badge_revoke(operator=request.user, partner=partner, reason=form.cleaned_data["reason"])  # type: ignore[arg-type]
            except ValidationError as exc:
                form.add_error("reason", exc.messages)
            else:
                self.message_user(request, gettext("The authorised badge was revoked."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:partners_partner_change", args=[partner.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Revoke the authorised badge of %(name)s") % {"name": partner.name},
            "form": form,
            "partner": partner,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "partners/admin/revoke_badge.html", context)

    def restore_badge_view(self, request: HttpRequest, partner_id: int) -> HttpResponse:
        partner = get_object_or_404(Partner, pk=partner_id)
        if request.method != "POST" or not self.has_change_permission(request, partner):
            return HttpResponse(status=405 if request.method != "POST" else 403)
        partner_badge_restore(operator=request.user, partner=partner)  # type: ignore[arg-type]
        self.message_user(request, gettext("The operators' revocation was lifted."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:partners_partner_change", args=[partner.pk]))


@admin.register(PartnerMember)
class PartnerMemberAdmin(admin.ModelAdmin):
    list_display = ("partner", "user", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("partner__name", "user__email")
    autocomplete_fields = ("partner", "user")


@admin.register(PartnerLead)
class PartnerLeadAdmin(admin.ModelAdmin):
    list_display = ("partner", "name", "email", "company", "created_at", "read_at")
    search_fields = ("partner__name", "name", "email", "company")
    list_filter = ("created_at",)
    readonly_fields = ("partner", "name", "email", "company", "phone", "country", "message", "created_at", "read_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PartnerInvitation)
class PartnerInvitationAdmin(admin.ModelAdmin):
    list_display = ("partner", "email", "role", "created_at", "expires_at", "accepted_at", "revoked_at")
    search_fields = ("partner__name", "email")
    exclude = ("key_hash",)
    readonly_fields = ("partner", "email", "role", "invited_by", "created_at", "expires_at", "accepted_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PartnerAccess)
class PartnerAccessAdmin(admin.ModelAdmin):
    """Read-only: grants are given and revoked by each tenant's administrators (and audited there)."""

    list_display = ("partner", "tenant", "role_name", "granted_by", "granted_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("partner__name", "tenant__schema_name")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ListingPrice)
class ListingPriceAdmin(admin.ModelAdmin):
    """Prices of the authorised listing. A change applies to new subscriptions; current ones keep theirs."""

    list_display = ("__str__", "period", "currency", "amount", "is_active", "updated_at")
    list_editable = ("amount", "is_active")
    list_display_links = ("__str__",)

    def save_model(self, request: HttpRequest, obj: ListingPrice, form: Any, change: bool) -> None:
        obj.currency = obj.currency.lower()
        super().save_model(request, obj, form, change)


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    """Payouts as Stripe reported them for partners' connected accounts (read-only)."""

    list_display = ("stripe_payout_id", "partner", "amount_cents", "currency", "status", "arrival_date", "created")
    list_filter = ("status", "currency", "partner")
    search_fields = ("stripe_payout_id", "partner__name")
    readonly_fields = (
        "partner",
        "stripe_payout_id",
        "amount_cents",
        "currency",
        "status",
        "arrival_date",
        "failure_code",
        "failure_message",
        "created",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
