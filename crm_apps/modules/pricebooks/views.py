"""The price books' own screens: adding, changing and removing one list price from the record page."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.middleware import request_member
from crm_apps.engine import registry, selectors
from crm_apps.engine.display import record_url
from crm_apps.engine.views import error_text
from crm_apps.modules.pricebooks import services


@require_POST
@login_required
def prices(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    """`remove=<entry id>` takes an item out; otherwise `kind` + `item` (or `product`/`service`) at
    `list_price` is added or changed."""
    spec = registry.get("price-books")
    actor = request_member(request)
    book = selectors.access_record(spec=spec, actor=actor, record_id=record_id)
    if book is None:
        raise Http404
    post = request.POST
    try:
        if post.get("remove"):
            services.price_book_price_remove(actor=actor, price_book_id=book.pk, entry_id=post["remove"])
            messages.success(request, _("Price removed."))
        else:
            kind = post.get("kind", "product")
            item = post.get(kind) or post.get("item", "")
            services.price_book_price_set(
                actor=actor, price_book_id=book.pk, kind=kind, item_id=item, list_price=post.get("list_price", "")
            )
            messages.success(request, _("Price saved."))
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    return redirect(record_url(spec, book))
