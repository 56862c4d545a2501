"""Partner portal pages for extensions, sales and payouts (bare domain, /partner-portal/<slug>/...).
Access follows the partner roles' permissions (marketplace/partners/permissions.py)."""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context
from PIL import Image, UnidentifiedImageError

from marketplace.catalog import services
from marketplace.catalog.forms import ListingForm, VersionForm
from marketplace.catalog.models import Listing, Sale, Screenshot, Version
from marketplace.catalog.selectors import dispute_totals
from marketplace.manifest import MAX_MANIFEST_BYTES
from marketplace.partners.models import PartnerMember, Payout, PayoutStatus
from marketplace.partners.permissions import EXTENSIONS_MANAGE, PAYOUTS_VIEW, SALES_VIEW
from marketplace.partners.views import _ctx, portal_view

SHARE_FIELDS = ("amount_cents", "fee_cents", "refunded_cents", "fee_refunded_cents")
SCREENSHOT_FORMATS = {"PNG", "JPEG", "WEBP"}
SCREENSHOT_MAX_PIXELS = 4096 * 4096


def screenshot_png(upload: Any) -> bytes:
    """A screenshot checked as a real PNG/JPEG/WebP image and re-encoded as PNG (metadata dropped)."""
    data = upload.read(3 * 1024 * 1024)
    problem = ValidationError({"screenshot": [_("Upload a PNG, JPEG or WebP image.")]})
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in SCREENSHOT_FORMATS:
                raise problem
            if probe.size[0] * probe.size[1] > SCREENSHOT_MAX_PIXELS:
                raise ValidationError({"screenshot": [_("The image has too many pixels: at most 4096 × 4096.")]})
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            image.thumbnail((1600, 1600))
            out = io.BytesIO()
            image.convert("RGB").save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise problem from exc
    return out.getvalue()


def _own_listing(pm: PartnerMember, listing_slug: str) -> Listing:
    listing = Listing.objects.filter(partner=pm.partner, slug=listing_slug).first()
    if listing is None:
        raise Http404
    return listing


def _listing_values(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": data["name"],
        "summary": data["summary"],
        "description": data.get("description") or "",
        "category": data["category"],
        "support_url": data["support_url"],
        "pricing": data["pricing"],
        "price_cents": int((data.get("price") or 0) * 100),
        "trial_days": data.get("trial_days") or 0,
    }


def _save_listing(
    request: HttpRequest, pm: PartnerMember, form: ListingForm, listing: Listing | None
) -> Listing | None:
    data = form.cleaned_data
    try:
        png = screenshot_png(data["screenshot"]) if data.get("screenshot") else None
        values = _listing_values(data)
        if listing is None:
            values["slug"] = data["slug"]
        saved = services.listing_save(partner=pm.partner, listing=listing, **values)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields else ("price" if field == "price_cents" else None)
            for error in errors:
                form.add_error(target, error)
        return None
    if png is not None:
        shot = Screenshot(
            listing=saved, caption=data.get("screenshot_caption") or "", position=saved.screenshots.count()
        )
        with schema_context("public"):
            shot.image.save(f"{saved.pk}-{saved.screenshots.count() + 1}.png", ContentFile(png), save=True)
    return saved


@portal_view(EXTENSIONS_MANAGE)
def extensions(request: HttpRequest, pm: PartnerMember) -> HttpResponse:
    """The partner's listings and a form for a new one."""
    form = ListingForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        listing = _save_listing(request, pm, form, None)
        if listing is not None:
            messages.success(request, _("Listing created. Upload its first version for review."))
            return redirect("partner_extensions:listing", slug=pm.partner.slug, listing_slug=listing.slug)
    listings = Listing.objects.filter(partner=pm.partner).prefetch_related("versions").order_by("name")
    return render(request, "marketplace/portal/extensions.html", _ctx(pm, "extensions", listings=listings, form=form))


@portal_view(EXTENSIONS_MANAGE)
def listing(request: HttpRequest, pm: PartnerMember, listing_slug: str) -> HttpResponse:
    """Edit a listing; upload versions (errors name the manifest path)."""
    item = _own_listing(pm, listing_slug)
    initial = {
        **{
            k: getattr(item, k)
            for k in ("name", "slug", "summary", "description", "category", "support_url", "pricing", "trial_days")
        },
        "price": item.price,
    }
    form = ListingForm(initial=initial, editing=True)
    version_form = VersionForm()
    if request.method == "POST" and request.POST.get("action") == "listing":
        form = ListingForm(request.POST, request.FILES, initial=initial, editing=True)
        if form.is_valid() and _save_listing(request, pm, form, item) is not None:
            messages.success(request, _("Listing saved."))
            return redirect("partner_extensions:listing", slug=pm.partner.slug, listing_slug=item.slug)
    elif request.method == "POST" and request.POST.get("action") == "version":
        version_form = VersionForm(request.POST, request.FILES)
        if version_form.is_valid():
            upload = version_form.cleaned_data.get("manifest_file")
            raw: bytes | str = (
                upload.read(MAX_MANIFEST_BYTES + 1) if upload else version_form.cleaned_data["manifest_text"]
            )
            try:
                version = services.version_submit(
                    listing=item,
                    manifest=raw,
                    submitted_by=request.user,  # type: ignore[arg-type]
                    release_notes=version_form.cleaned_data.get("release_notes") or "",
                )
            except ValidationError as exc:
                problems = exc.message_dict if hasattr(exc, "error_dict") else {"manifest": exc.messages}
                return render(
                    request,
                    "marketplace/portal/listing.html",
                    _ctx(
                        pm,
                        "extensions",
                        listing=item,
                        form=form,
                        version_form=version_form,
                        versions=item.versions.all(),
                        problems=sorted(problems.items()),
                    ),
                    status=400,
                )
            messages.success(request, _("Version %(v)s is submitted for review.") % {"v": version.number})
            return redirect("partner_extensions:listing", slug=pm.partner.slug, listing_slug=item.slug)
    return render(
        request,
        "marketplace/portal/listing.html",
        _ctx(
            pm,
            "extensions",
            listing=item,
            form=form,
            version_form=version_form,
            versions=item.versions.all(),
            screenshots=item.screenshots.all(),
        ),
    )


@portal_view(SALES_VIEW)
def sales(request: HttpRequest, pm: PartnerMember) -> HttpResponse:
    rows = (
        Sale.objects.filter(partner=pm.partner)
        .select_related("licence__listing")
        .prefetch_related("disputes")
        .order_by("-created_at")[:500]
    )
    totals = Sale.objects.filter(partner=pm.partner).aggregate(
        gross=Sum("amount_cents"),
        commission=Sum("fee_cents"),
        refunded=Sum("refunded_cents"),
        fee_refunded=Sum("fee_refunded_cents"),
    )
    net = sum(sale.partner_cents for sale in Sale.objects.filter(partner=pm.partner).only(*SHARE_FIELDS))
    disputes = dispute_totals(sales=Sale.objects.filter(partner=pm.partner))
    return render(
        request,
        "marketplace/portal/sales.html",
        _ctx(pm, "sales", sales=rows, totals=totals, net=net, disputes=disputes),
    )


@portal_view(PAYOUTS_VIEW)
def payouts(request: HttpRequest, pm: PartnerMember) -> HttpResponse:
    """The partner's share month by month (sales minus the commission kept and refunds) next to the
    payouts Stripe reported for its connected account."""
    months = (
        Sale.objects.filter(partner=pm.partner)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(
            gross=Sum("amount_cents"),
            commission=Sum("fee_cents"),
            refunded=Sum("refunded_cents"),
            fee_refunded=Sum("fee_refunded_cents"),
        )
        .order_by("-month")
    )
    rows = [
        {
            **m,
            "commission": m["commission"] - m["fee_refunded"],
            "net": m["gross"] - m["refunded"] - (m["commission"] - m["fee_refunded"]),
        }
        for m in months
    ]
    payout_rows = Payout.objects.filter(partner=pm.partner)[:200]
    payout_totals = (
        Payout.objects.filter(partner=pm.partner, status=PayoutStatus.PAID)
        .values("currency")
        .annotate(paid=Sum("amount_cents"))
        .order_by("currency")
    )
    return render(
        request,
        "marketplace/portal/payouts.html",
        _ctx(pm, "payouts", months=rows, payouts=payout_rows, payout_totals=payout_totals),
    )


def screenshot(request: HttpRequest, screenshot_id: int) -> FileResponse:
    """A published listing's screenshot (re-encoded PNG), on the bare domain and on tenant hosts."""
    shot = Screenshot.objects.filter(pk=screenshot_id).select_related("listing").first()
    published = shot is not None and Version.objects.filter(listing=shot.listing, state="approved").exists()
    if shot is None or not published:
        raise Http404
    try:
        with schema_context("public"):  # stored from the portal, under the public prefix
            handle = shot.image.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
