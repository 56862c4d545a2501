"""Documents as PDFs: a tenant-editable HTML template (crm_apps.inventory.render), filled with the
document's values the member may see, rendered by weasyprint.

Fonts: the templates ask for "DejaVu Sans" (Latin, Cyrillic, Greek), which weasyprint finds through
fontconfig; Debian's `fonts-dejavu-core` provides it (installed by `.ci/run` with the pango libraries
weasyprint needs). Nothing is fetched over the network while rendering: the logo is a data: URI and
`url_fetcher` refuses every other URL."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import formats, translation
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.engine.spec import ModuleSpec
from crm_apps.inventory import catalogue
from crm_apps.inventory.models import PdfTemplate
from crm_apps.inventory.render import TemplateError, render
from crm_apps.inventory.totals import minor_unit

logger = logging.getLogger(__name__)

LANGUAGES = ("en", "ru")
_DEFAULTS = Path(__file__).parent / "pdf_templates"


def default_template(language: str) -> str:
    lang = language if language in LANGUAGES else "en"
    return (_DEFAULTS / f"default.{lang}.html").read_text(encoding="utf-8")


def template_for(module: str, language: str) -> str:
    """The tenant's template of the module in the language, else the built-in default."""
    stored = PdfTemplate.objects.filter(module=module, language=language).values_list("html", flat=True).first()
    return stored or default_template(language)


def _money(value: Any, places: int) -> str:
    if value is None:
        return ""
    return formats.number_format(Decimal(value), decimal_pos=places, use_l10n=True, force_grouping=True)


def _qty(value: Any) -> str:
    if value is None:
        return ""
    normal = Decimal(value).normalize()
    places = max(0, -normal.as_tuple().exponent)  # type: ignore[operator]
    return formats.number_format(normal, decimal_pos=places, use_l10n=True)


def _date(value: Any) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT") if value else ""


TITLES = {
    "quotes": lambda: _("Quote"),
    "sales-orders": lambda: _("Sales order"),
    "purchase-orders": lambda: _("Purchase order"),
    "invoices": lambda: _("Invoice"),
}


def document_context(*, spec: ModuleSpec, record: Any, actor: Member) -> dict[str, Any]:
    """Every value a template can print: only fields the member's profiles show (a hidden field is
    simply absent), plain strings formatted in the active language."""
    rules = field_rules(actor=actor, spec=spec)
    shows = rules.shows
    places = minor_unit(record.currency)

    def field(name: str, value: Any) -> Any:
        return value if shows(name) else ""

    def title(name: str) -> str:
        related = getattr(record, name, None) if shows(name) and hasattr(record, name) else None
        return str(getattr(related, "name", None) or related or "") if related is not None else ""

    address = {
        which: {
            part: field(f"{which}_{part}", getattr(record, f"{which}_{part}"))
            for part in ("street", "po_box", "city", "state", "postal_code", "country")
        }
        for which in ("billing", "shipping")
    }
    document = {
        "title": TITLES[spec.key](),
        "number": record.number,
        "subject": field("subject", record.subject),
        "status": field("status", record.status),
        "date": _date(getattr(record, "invoice_date", None) or record.created_at),
        "valid_until": _date(field("valid_until", getattr(record, "valid_until", None))),
        "due_date": _date(field("due_date", getattr(record, "due_date", None))),
        "customer_po": field("customer_po", getattr(record, "customer_po", "")),
        "currency": record.currency,
        "organization": title("organization"),
        "contact": title("contact"),
        "vendor": title("vendor") if hasattr(record, "vendor") else "",
        "billing": address["billing"],
        "shipping": address["shipping"],
        "terms": field("terms_conditions", record.terms_conditions),
        "is_invoice": spec.key == "invoices",
    }
    lines: list[dict[str, Any]] = []
    taxes: list[dict[str, Any]] = []
    if shows("lines"):
        rows = list(record.lines.select_related("product", "service").order_by("position", "pk"))
        names: dict[Any, str] = dict(catalogue.tax_names({t["tax"] for row in rows for t in (row.taxes or [])}))
        breakdown: dict[tuple[Any, str], Decimal] = {}
        for index, row in enumerate(rows, start=1):
            item = row.product or row.service
            discount = ""
            if row.discount_percent is not None:
                discount = f"{_qty(row.discount_percent)}%"
            elif row.discount_amount:
                discount = _money(row.discount_amount, places)
            line_taxes = row.taxes or []
            if record.tax_mode == "individual":
                for t in line_taxes:
                    key = (t["tax"], str(t.get("percent")))
                    breakdown[key] = breakdown.get(key, Decimal(0)) + Decimal(str(t.get("amount") or 0))
            lines.append(
                {
                    "n": index,
                    "item": str(item) if item is not None else row.description,
                    "description": row.description if item is not None else "",
                    "quantity": _qty(row.quantity),
                    "price": _money(row.list_price, places),
                    "discount": discount,
                    "net": _money(row.net_amount, places),
                    "tax": _money(row.tax_amount, places) if record.tax_mode == "individual" else "",
                    "tax_names": ", ".join(f"{names.get(t['tax'], '')} {_qty(t.get('percent'))}%" for t in line_taxes)
                    if record.tax_mode == "individual"
                    else "",
                }
            )
        if record.tax_mode == "group" and shows("taxes"):
            group = list(record.taxes.order_by("position", "pk"))
            names.update(catalogue.tax_names({t.tax_id for t in group if t.tax_id is not None}))
            for t in group:
                key = (t.tax_id if t.tax_id is not None else f"name:{t.name}", str(t.percent))
                if t.tax_id is None:
                    names[key[0]] = t.name
                breakdown[key] = breakdown.get(key, Decimal(0)) + t.amount
        taxes = [
            {"name": names.get(tax_id, ""), "percent": _qty(percent), "amount": _money(amount, places)}
            for (tax_id, percent), amount in breakdown.items()
        ]
    if record.shipping and record.shipping_tax_percent:
        taxes.append(
            {
                "name": _("Tax on shipping"),
                "percent": _qty(record.shipping_tax_percent),
                "amount": _money(shipping_tax_amount(record, places), places),
            }
        )
    totals = {
        "subtotal": _money(record.subtotal, places) if shows("subtotal") else "",
        "discount_total": _money(record.discount_total, places),
        "has_discount": bool(record.discount_total) and shows("discount_total"),
        "shipping": _money(record.shipping, places),
        "has_shipping": bool(record.shipping) and shows("shipping"),
        "tax_total": _money(record.tax_total, places) if shows("tax_total") else "",
        "adjustment": _money(record.adjustment, places),
        "has_adjustment": bool(record.adjustment) and shows("adjustment"),
        "grand_total": _money(record.grand_total, places) if shows("grand_total") else "",
        "received": _money(getattr(record, "received", None), places),
        "balance": _money(getattr(record, "balance", None), places),
        "has_payments": bool(getattr(record, "received", None)) and shows("received"),
    }
    company = catalogue.company_details()
    company_data: dict[str, Any] = {}
    if company is not None:
        for name in (
            "street", "city", "state", "postal_code", "country", "phone", "email", "website", "tax_id",
            "registration_number", "bank_name", "bank_account", "bank_code", "bank_details",
        ):  # fmt: skip
            company_data[name] = getattr(company, name, "")
        company_data["name"] = company.legal_name or company.trading_name
        logo = catalogue.company_logo_data_uri(company)
        company_data["logo"] = format_html('<img src="{}" alt="">', logo) if logo else SafeString("")
    return {"document": document, "lines": lines, "taxes": taxes, "totals": totals, "company": company_data}


def shipping_tax_amount(record: Any, places: int) -> Decimal:
    from crm_apps.inventory.totals import money_round

    return money_round(Decimal(record.shipping or 0) * Decimal(record.shipping_tax_percent or 0) / 100, places)


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    if url.startswith("data:"):
        from weasyprint.urls import default_url_fetcher

        return default_url_fetcher(url)
    raise ValueError("PDF templates may not load external resources")


def html_for(*, spec: ModuleSpec, record: Any, actor: Member, language: str, template: str | None = None) -> str:
    with translation.override(language):
        context = document_context(spec=spec, record=record, actor=actor)
        chosen = template if template is not None else template_for(spec.key, language)
        try:
            return render(chosen, context)
        except TemplateError:
            if template is not None:
                raise  # the settings preview shows the error to the admin editing it
            # A saved template that outgrows its limit on this document: the built-in one still works.
            logger.warning("inventory: the %s template of %s is too large here; using the default", language, spec.key)
            return render(default_template(language), context)


def pdf_for(*, spec: ModuleSpec, record: Any, actor: Member, language: str, template: str | None = None) -> bytes:
    """The document as PDF bytes in the language (en or ru)."""
    from weasyprint import HTML

    html = html_for(spec=spec, record=record, actor=actor, language=language, template=template)
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def pdf_language(member: Member, requested: str | None) -> str:
    if requested in LANGUAGES:
        return str(requested)
    lang = (getattr(member, "language", "") or translation.get_language() or "en")[:2]
    return lang if lang in LANGUAGES else "en"


def pdf_filename(record: Any) -> str:
    return f"{record.number or 'document'}.pdf"
