"""Tenant side of the extension catalog at /settings/marketplace/ (admins), and the public manifest
schema on the bare domain. Thin: selectors and services do the work."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST
from django_tenants.utils import schema_context

from billing import gateway
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from marketplace import manifest as manifests
from marketplace.catalog import payments, selectors, services
from marketplace.catalog.models import Licence, Listing, Review
from marketplace.installs import selectors as installs_selectors
from marketplace.ui.fields import app_field_types
from marketplace.ui.surfaces import settings_links as app_settings_links


@cache_control(public=True, max_age=3600)
def manifest_schema(request: HttpRequest) -> JsonResponse:
    """The manifest JSON Schema, public, for partners' editors and CI."""
    return JsonResponse(manifests.schema(), json_dumps_params={"ensure_ascii": False, "indent": 2})


def _admin(request: HttpRequest) -> Any:
    member = request_member(request)
    if not member.is_admin:
        raise PermissionDenied
    return member


def _listing(slug: str) -> Listing:
    listing = selectors.listing_get_published(slug=slug)
    if listing is None:
        raise Http404
    return listing


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Approved extensions, with what this workspace installed."""
    _admin(request)
    tenant = request.tenant  # type: ignore[attr-defined]
    installed = selectors.installed_map()
    with schema_context("public"):
        listings = list(selectors.listing_list_published(category=request.GET.get("category", "")))
    return render(
        request,
        "marketplace/catalog.html",
        {
            "entitled": selectors.marketplace_entitled(tenant=tenant),
            "rows": [(listing, installed.get(listing.pk)) for listing in listings],
            "tenant_name": tenant.name,
            "categories": selectors.categories(),
            "category": request.GET.get("category", ""),
            "app_settings": app_settings_links(),
            "app_field_types": bool(app_field_types()),
        },
    )


@login_required
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One extension: description, what it adds, the scopes it asks for, reviews, install/uninstall."""
    _admin(request)
    tenant = request.tenant  # type: ignore[attr-defined]
    installation = None
    with schema_context("public"):
        listing = _listing(slug)
        version = services.version_latest_approved(listing=listing)
        summary = manifests.manifest_summary(manifests.manifest_validate(version.manifest)) if version else None
        licence = Licence.objects.filter(tenant=tenant, listing=listing).first()
        reviews = list(Review.objects.filter(listing=listing).select_related("author")[:50])
        reviewed = any(r.tenant_id == tenant.pk for r in reviews)
        screenshots = list(listing.screenshots.all())
    installation = selectors.installed_map().get(listing.pk)
    deliveries = installs_selectors.delivery_list(installation=installation) if installation else []
    return render(
        request,
        "marketplace/detail.html",
        {
            "listing": listing,
            "version": version,
            "summary": summary,
            "licence": licence,
            "reviews": reviews,
            "reviewed": reviewed,
            "screenshots": screenshots,
            "installation": installation,
            "deliveries": deliveries,
            "can_install": listing.pricing == "free"
            or (licence is not None and licence.usable)
            or (licence is None and listing.trial_days > 0),
            "paid_return": request.GET.get("paid") == "1",
            "app_settings": app_settings_links(installation_id=installation.pk) if installation else [],
        },
    )


@require_POST
@login_required
def install(request: HttpRequest, slug: str) -> HttpResponse:
    member = _admin(request)
    tenant = request.tenant  # type: ignore[attr-defined]
    with schema_context("public"):
        listing = _listing(slug)
    try:
        installation, key = services.catalog_install(tenant=tenant, actor=member, listing=listing)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("marketplace:detail", slug=slug)
    messages.success(
        request, _("%(name)s %(version)s is installed.") % {"name": listing.name, "version": installation.version}
    )
    if key:
        return render(request, "marketplace/token.html", {"listing": listing, "key": key})
    return redirect("marketplace:detail", slug=slug)


@require_POST
@login_required
def buy(request: HttpRequest, slug: str) -> HttpResponse:
    """Paid extensions: off to Stripe Checkout (the partner is paid through Stripe Connect)."""
    member = _admin(request)
    tenant = request.tenant  # type: ignore[attr-defined]
    with schema_context("public"):
        listing = _listing(slug)
    back = request.build_absolute_uri(reverse("marketplace:detail", args=[slug]))
    try:
        url = payments.checkout_start(
            tenant=tenant,
            listing=listing,
            seats=Member.objects.filter(active=True).count(),
            email=member.user.email,
            success_url=f"{back}?paid=1",
            cancel_url=back,
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("marketplace:detail", slug=slug)
    except (gateway.PaymentsNotConfigured, gateway.GatewayError):
        messages.error(request, _("Payments are not available right now. Please try again later."))
        return redirect("marketplace:detail", slug=slug)
    return redirect(url)


@require_POST
@login_required
def uninstall(request: HttpRequest, slug: str) -> HttpResponse:
    member = _admin(request)
    tenant = request.tenant  # type: ignore[attr-defined]
    purge = request.POST.get("purge") == "on"
    if purge and request.POST.get("confirm", "").strip() != slug:
        messages.error(request, _("To delete the extension's data, type its address name to confirm."))
        return redirect("marketplace:detail", slug=slug)
    with schema_context("public"):
        listing = _listing(slug)
    try:
        services.catalog_uninstall(tenant=tenant, actor=member, listing=listing, purge=purge)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("marketplace:detail", slug=slug)
    if purge:
        messages.success(request, _("%(name)s is uninstalled and its data deleted.") % {"name": listing.name})
    else:
        messages.success(request, _("%(name)s is uninstalled; the data it added is kept.") % {"name": listing.name})
    return redirect("marketplace:detail", slug=slug)


@require_POST
@login_required
def review(request: HttpRequest, slug: str) -> HttpResponse:
    member = _admin(request)
    tenant = request.tenant  # type: ignore[attr-defined]
    try:
        rating = int(request.POST.get("rating", ""))
    except ValueError:
        rating = 0
    try:
        with schema_context("public"):
            listing = _listing(slug)
            services.review_add(
                tenant=tenant, actor=member, listing=listing, rating=rating, body=request.POST.get("body", "")
            )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Thank you for your review."))
    return redirect("marketplace:detail", slug=slug)
