"""Operator console for extensions: the review queue (approve / reject with notes), listings, the
commission, licences and sales (read-only)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet, Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from marketplace.catalog import services
from marketplace.catalog.models import Licence, Listing, MarketplaceSettings, Sale, SaleDispute, SaleRefund, Version
from marketplace.catalog.selectors import dispute_totals, partner_money_totals


class VersionReviewForm(forms.ModelForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("", _("Keep as is")), ("approve", _("Approve")), ("reject", _("Reject"))],
        required=False,
    )

    class Meta:
        model = Version
        fields = ["review_notes"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == "reject" and not (data.get("review_notes") or "").strip():
            raise ValidationError({"review_notes": _("Tell the partner why the version is rejected.")})
        return data


@admin.register(Version)
class VersionAdmin(admin.ModelAdmin):
    form = VersionReviewForm
    list_display = ["listing", "number", "state", "created_at", "reviewed_by", "reviewed_at"]
    list_filter = ["state"]
    search_fields = ["listing__name", "listing__slug", "number"]
    readonly_fields = (
        "listing",
        "number",
        "min_platform_version",
        "release_notes",
        "state",
        "what_it_reaches",
        "screenshots",
        "manifest_pretty",
        "reviewed_by",
        "reviewed_at",
        "submitted_by",
        "created_at",
    )
    fields = (*readonly_fields, "decision", "review_notes")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Version]:
        return super().get_queryset(request).select_related("listing", "reviewed_by")

    @admin.display(description=_("what it reaches"))
    def what_it_reaches(self, obj: Version) -> str:
        """The scopes, the app's origin and every URL the version sends data to or frames, for review."""
        data = obj.manifest if isinstance(obj.manifest, dict) else {}
        ui = data.get("ui") or {}
        urls = [
            *(item.get("url", "") for kind in ui.values() if isinstance(kind, list) for item in kind),
            *(item.get("url", "") for item in data.get("workflow_actions") or []),
            *(item.get("url", "") for item in data.get("webhooks") or []),
            *((item.get("panel") or {}).get("url", "") for item in data.get("field_types") or []),
            ((data.get("telephony") or {}).get("click_to_call") or {}).get("url", ""),
        ]
        lines = [
            (_("Scopes"), ", ".join(data.get("scopes") or []) or "—"),
            (_("App origin"), (data.get("app") or {}).get("origin", "") or "—"),
            (_("Addresses"), ", ".join(sorted({u for u in urls if u})) or "—"),
            (_("Telephony provider"), _("yes") if data.get("telephony") else _("no")),
        ]
        return format_html_join("", "<p><strong>{}:</strong> {}</p>", lines)

    @admin.display(description=_("screenshots"))
    def screenshots(self, obj: Version) -> str:
        shots = list(obj.listing.screenshots.all())
        if not shots:
            return "—"
        return format_html_join(
            "",
            '<figure><img src="{}" alt="{}" width="320" loading="lazy"><figcaption>{}</figcaption></figure>',
            ((reverse("listing_screenshot", args=[shot.pk]), shot.caption, shot.caption) for shot in shots),
        )

    @admin.display(description=_("manifest"))
    def manifest_pretty(self, obj: Version) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.manifest, indent=2, ensure_ascii=False))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # partners upload versions

    def save_model(self, request: HttpRequest, obj: Version, form: Any, change: bool) -> None:
        decision = form.cleaned_data.get("decision")
        if not decision:
            obj.save(update_fields=["review_notes"])
            return
        try:
            services.version_review(
                version=obj,
                reviewer=request.user,  # type: ignore[arg-type]
                approve=decision == "approve",
                notes=form.cleaned_data.get("review_notes") or "",
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))


class VersionInline(admin.TabularInline):
    model = Version
    fields = ("number", "state", "created_at", "reviewed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "partner", "pricing", "price_cents", "install_count", "rating_count"]
    list_filter = ["pricing", "category"]
    search_fields = ["name", "slug", "partner__name"]
    readonly_fields = ["install_count", "rating_sum", "rating_count", "created_at"]
    inlines = [VersionInline]

    def save_model(self, request: HttpRequest, obj: Listing, form: Any, change: bool) -> None:
        obj.description_html = services.markdown_render(obj.description)
        super().save_model(request, obj, form, change)


@admin.register(MarketplaceSettings)
class MarketplaceSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "commission_percent", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not MarketplaceSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Licence)
class LicenceAdmin(admin.ModelAdmin):
    list_display = ["listing", "tenant", "state", "pricing", "price_cents", "trial_end", "updated_at"]
    list_filter = ["state", "pricing"]
    search_fields = ["listing__name", "tenant__schema_name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SaleRefundInline(_ReadOnlyInline):
    model = SaleRefund
    fields = readonly_fields = ("stripe_refund_id", "amount_cents", "status", "stripe_created", "stripe_updated")


class SaleDisputeInline(_ReadOnlyInline):
    model = SaleDispute
    fields = readonly_fields = ("stripe_dispute_id", "amount_cents", "status", "reason", "stripe_updated")


@admin.register(Sale)
class SaleAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "partner",
        "licence",
        "amount_cents",
        "fee_cents",
        "refunded_cents",
        "fee_refunded_cents",
        "refunded_at",
        "dispute_badge",
    ]
    list_filter = ["partner", ("refunded_at", admin.EmptyFieldListFilter), "disputes__status"]
    inlines = [SaleRefundInline, SaleDisputeInline]
    search_fields = ["stripe_object_id", "stripe_payment_intent_id", "stripe_charge_id"]
    change_list_template = "admin/catalog/sale/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Sale]:
        return super().get_queryset(request).prefetch_related("disputes")

    @admin.display(description=_("dispute"))
    def dispute_badge(self, obj: Sale) -> str:
        dispute = obj.dispute
        if dispute is None:
            return ""
        return f"{dispute.get_status_display()} ({dispute.amount_cents})"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        totals = Sale.objects.aggregate(
            gross=Sum("amount_cents"),
            commission=Sum("fee_cents"),
            refunded=Sum("refunded_cents"),
            fee_refunded=Sum("fee_refunded_cents"),
        )
        context = {"totals": totals, "partner_totals": partner_money_totals(), "disputes": dispute_totals()}
        return super().changelist_view(request, {**(extra_context or {}), **context})
