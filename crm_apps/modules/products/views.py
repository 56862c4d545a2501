"""The products module's own screens: the forms of its record-page panels (taxes, bundle, pictures), the
permission-checked pictures, and "Add to price book" for a filtered list of products."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.engine import registry, selectors
from crm_apps.engine.display import record_url
from crm_apps.engine.views import LIST_PARAMS, error_text
from crm_apps.finance import files
from crm_apps.modules.products import services
from crm_apps.modules.products.models import Product, ProductImage

ADD_LIMIT = 2000


def _spec() -> Any:
    return registry.get("products")


def _product(request: HttpRequest, record_id: uuid.UUID) -> Product:
    found: Product | None = selectors.access_record(spec=_spec(), actor=request_member(request), record_id=record_id)
    if found is None:
        raise Http404
    return found


def _done(request: HttpRequest, product: Product, call: Any, success: str) -> HttpResponse:
    try:
        call()
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    except visibility.FieldPermissionDenied:
        messages.error(request, _("You may not change this."))
    else:
        messages.success(request, success)
    return redirect(record_url(_spec(), product))


@require_POST
@login_required
def taxes(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    """Save the product's tax classes from the panel's checkboxes (`tax` ids) and percents (`percent-<id>`)."""
    product = _product(request, record_id)
    rows = [
        {"tax": tax_id, "percent": request.POST.get(f"percent-{tax_id}", "")} for tax_id in request.POST.getlist("tax")
    ]
    return _done(
        request,
        product,
        lambda: services.product_taxes_set(actor=request_member(request), product_id=product.pk, taxes=rows),
        _("Taxes saved."),
    )


@require_POST
@login_required
def bundle(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    """Add a product to the bundle, change quantities, or remove one (`remove=<product id>`)."""
    product = _product(request, record_id)
    rows = [
        {"product": pid, "quantity": request.POST.get(f"quantity-{pid}", "1")}
        for pid in request.POST.getlist("item")
        if pid != request.POST.get("remove")
    ]
    if request.POST.get("product"):
        rows.append({"product": request.POST["product"], "quantity": request.POST.get("quantity", "1") or "1"})
    return _done(
        request,
        product,
        lambda: services.product_bundle_set(actor=request_member(request), product_id=product.pk, items=rows),
        _("Bundle saved."),
    )


@require_POST
@login_required
def image_add(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    product = _product(request, record_id)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a picture to upload."))
        return redirect(record_url(_spec(), product))
    return _done(
        request,
        product,
        lambda: services.product_image_add(
            actor=request_member(request), product_id=product.pk, upload=upload, file_name=upload.name or ""
        ),
        _("Picture added."),
    )


@require_POST
@login_required
def image_delete(request: HttpRequest, record_id: uuid.UUID, image_id: int) -> HttpResponse:
    product = _product(request, record_id)
    return _done(
        request,
        product,
        lambda: services.product_image_delete(actor=request_member(request), product_id=product.pk, image_id=image_id),
        _("Picture removed."),
    )


@login_required
def image(request: HttpRequest, record_id: uuid.UUID, image_id: int) -> HttpResponseBase:
    """A product's picture, for members who can see the product (404 otherwise, also across workspaces)."""
    product = _product(request, record_id)
    found = ProductImage.objects.filter(product=product, pk=image_id).first()
    if found is None:
        raise Http404
    return files.image_response(storage_name=found.storage_name, content_type=found.content_type, size=found.size)


@login_required
def add_to_price_book(request: HttpRequest) -> HttpResponse:
    """ "Add to price book" from the products list: the products of the list's filters and search (the same
    query string) go into a chosen price book at their unit price, adjusted by a percentage."""
    from crm_apps.modules.pricebooks.services import price_book_items_add

    actor = request_member(request)
    spec = _spec()
    if not visibility.can_view_module(actor=actor, spec=spec):
        raise PermissionDenied
    source = request.POST if request.method == "POST" else request.GET
    filters = {
        k: str(v)
        for k, v in source.items()
        if k not in LIST_PARAMS
        and k not in {"csrfmiddlewaretoken", "price_book", "adjust_percent", "replace"}
        and v != ""
    }
    search = source.get("q", "")
    errors: dict[str, list[str]] = {}
    try:
        qs = selectors.list_queryset(spec=spec, actor=actor, filters=filters, search=search, default_view=False)
        count = qs.count()
    except ValidationError as exc:
        errors = exc.message_dict
        qs, count = Product.objects.none(), 0
    books_spec = registry.get("price-books")
    books = [
        b
        for b in selectors.list_queryset(spec=books_spec, actor=actor, filters={"active": "true"}).order_by("name")[
            :200
        ]
        if visibility.can_edit(actor=actor, spec=books_spec, record=b)
    ]
    if request.method == "POST" and not errors:
        book_id = request.POST.get("price_book", "")
        if not any(str(b.pk) == book_id for b in books):
            errors["price_book"] = [_("Choose a price book you may change.")]
        elif count > ADD_LIMIT:
            errors["products"] = [_("Narrow the list to at most %(count)d products.") % {"count": ADD_LIMIT}]
        else:
            try:
                counts = price_book_items_add(
                    actor=actor,
                    price_book_id=book_id,
                    items=list(qs.order_by("name", "id")),
                    adjust_percent=request.POST.get("adjust_percent", "0"),
                    replace_existing=request.POST.get("replace") == "1",
                )
            except ValidationError as exc:
                errors = exc.message_dict if hasattr(exc, "error_dict") else {"price_book": exc.messages}
            except PermissionDenied:
                errors["price_book"] = [_("Choose a price book you may change.")]
            else:
                messages.success(
                    request,
                    _("%(added)d added, %(updated)d updated, %(skipped)d already in the price book.") % counts,
                )
                return redirect(record_url(books_spec, next(b for b in books if str(b.pk) == book_id)))
    context = {
        "spec": spec,
        "count": count,
        "sample": list(qs.order_by("name", "id")[:10]) if count else [],
        "filters": filters,
        "search": search,
        "books": books,
        "errors": errors,
        "posted": request.POST,
        "limit": ADD_LIMIT,
    }
    return render(request, "products/add_to_price_book.html", context, status=400 if errors else 200)
