"""The customer portal's pages (/portal/ on the tenant host).

A contact is recognised only by the portal cookie (`kestrel_portal`, path /portal/, HttpOnly): Django's
session and authentication are never touched, so a portal sign-in can never become a member session and a
member's session means nothing here."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm_apps.engine import field_types, metadata, registry
from crm_apps.portal import selectors, services
from crm_apps.portal.models import CUSTOM_PREFIX, PortalAccount
from saas.headers import csp_header
from saas.http import client_ip

COOKIE = "kestrel_portal"
COOKIE_PATH = "/portal/"


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": list(exc.messages)}


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    portal = services.settings_get()
    return render(request, template, {"portal": portal, "has_logo": bool(_logo_file(portal)), **context}, status=status)


def _logo_file(portal: Any) -> tuple[str, str, int] | None:
    """The portal's own logo, else the company's (the one its quotes and invoices carry), else None."""
    from crm_apps.finance.selectors import company_details

    if portal.logo_storage_name:
        return portal.logo_storage_name, portal.logo_content_type, portal.logo_size
    details = company_details()
    if details.logo_storage_name:
        return details.logo_storage_name, details.logo_content_type, details.logo_size
    return None


def logo(request: HttpRequest) -> HttpResponseBase:
    """The portal's logo for its header (from this workspace's own storage: a host serves only its own
    tenant's file); 404 without one."""
    from crm_apps.finance import files

    portal = services.settings_get()
    found = _logo_file(portal) if portal.enabled else None
    if found is None:
        raise Http404
    storage_name, content_type, size = found
    return files.image_response(storage_name=storage_name, content_type=content_type, size=size)


def frameable(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Every portal page: when this workspace lists sites that may show its portal in a frame
    (PortalSettings.frame_origins, validated origins), the page's frame-ancestors names them instead of
    'none' and X-Frame-Options is left out (it cannot name a site). Other pages of the host, and every
    other workspace's portal, keep frame-ancestors 'none' and DENY (saas/headers.py). A response that set
    its own policy (file downloads: a sandbox) keeps it.

    Inside another site's frame the browser treats the portal's cookies as third-party: over https they
    go out SameSite=None (the portal's sign-in cookie and the CSRF cookie set by this page), else a framed
    sign-in could not stick. Browsers that block third-party cookies still refuse them (docs/portal.md)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        sites = services.settings_get().frame_origins
        if not sites:
            return response
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = csp_header({"frame-ancestors": " ".join(sites)})
            response.xframe_options_exempt = True  # type: ignore[attr-defined]
        if request.is_secure():
            _third_party_cookies(request, response)
        return response

    return wrapper


def _third_party_cookies(request: HttpRequest, response: HttpResponseBase) -> None:
    """SameSite=None (with Secure) on the portal cookie and on a CSRF cookie this response sets; the CSRF
    middleware then leaves its own Lax cookie unset (the flag a decorator clears, as Django's do)."""
    if COOKIE in response.cookies and response.cookies[COOKIE].value:
        response.cookies[COOKIE]["samesite"] = "None"
        response.cookies[COOKIE]["secure"] = True
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
        response.set_cookie(
            settings.CSRF_COOKIE_NAME,
            request.META["CSRF_COOKIE"],
            max_age=settings.CSRF_COOKIE_AGE,
            domain=settings.CSRF_COOKIE_DOMAIN,
            path=settings.CSRF_COOKIE_PATH,
            secure=True,
            httponly=settings.CSRF_COOKIE_HTTPONLY,
            samesite="None",
        )
        patch_vary_headers(response, ("Cookie",))
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = False


def portal_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Pages for a signed-in contact: anyone else goes to the portal's sign-in page. The contact's
    language is active while the page renders."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not services.settings_get().enabled:
            raise Http404
        account = services.session_account(request.COOKIES.get(COOKIE, ""))
        if account is None:
            return redirect(reverse("portal:login") + "?next=" + request.path)
        try:
            contact = services.contact_of(account)
        except PermissionDenied:
            return redirect("portal:login")
        with translation.override(account.language):
            request.LANGUAGE_CODE = account.language
            response = view(request, account, contact, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapper


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if not services.settings_get().enabled:
        raise Http404
    error = ""
    if request.method == "POST":
        try:
            account, key = services.login(
                email=request.POST.get("email", ""), password=request.POST.get("password", ""), ip=client_ip(request)
            )
        except services.AccessDenied:
            error = _("That email and password do not open the portal, or access has ended. Try again in a while.")
        else:
            target = request.GET.get("next", "")
            response = redirect(target if target.startswith(COOKIE_PATH) and "//" not in target else "portal:home")
            response.set_cookie(
                COOKIE,
                key,
                max_age=services.SESSION_DAYS * 24 * 3600,
                path=COOKIE_PATH,
                secure=request.is_secure(),
                httponly=True,
                samesite="Lax",
            )
            del account
            return response
    return _page(
        request, "portal/login.html", {"error": error, "email": request.POST.get("email", "")}, 400 if error else 200
    )


@require_http_methods(["POST"])
def logout(request: HttpRequest) -> HttpResponse:
    services.logout(key=request.COOKIES.get(COOKIE, ""))
    response = redirect("portal:login")
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


@require_http_methods(["GET", "POST"])
def set_password(request: HttpRequest, token: str) -> HttpResponse:
    if not services.settings_get().enabled:
        raise Http404
    account = services.account_for_link(token)
    if account is None:
        return _page(request, "portal/link_expired.html", {}, status=400)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            services.password_set(
                account=account, password=request.POST.get("password", ""), confirm=request.POST.get("confirm", "")
            )
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            return redirect(reverse("portal:login") + "?password=set")
    with translation.override(account.language):
        return _page(
            request, "portal/set_password.html", {"account": account, "errors": errors}, 400 if errors else 200
        )


@require_http_methods(["GET", "POST"])
def reset(request: HttpRequest) -> HttpResponse:
    if not services.settings_get().enabled:
        raise Http404
    sent = False
    if request.method == "POST":
        services.password_reset_request(email=request.POST.get("email", ""), ip=client_ip(request))
        sent = True
    return _page(request, "portal/reset.html", {"sent": sent})


QUOTES_AWAITING = ("Delivered", "Reviewed")  # sent to the customer, neither accepted nor rejected


@portal_view
def home(request: HttpRequest, account: PortalAccount, contact: Any) -> HttpResponse:
    portal = services.settings_get()
    open_tickets = _status_labelled(
        selectors.ticket_list(account=account, contact=contact, portal=portal, open_only=True)
    )
    unpaid = []
    invoice_fields = portal.published("invoices")
    if portal.section_on("invoices") and "payment_status" in invoice_fields:
        unpaid = list(
            selectors.section_records(module="invoices", contact=contact, portal=portal)
            .exclude(payment_status="paid")
            .exclude(status="Cancelled")
            .order_by("due_date", "-created_at")[:20]
        )
    # Quotes sent to the contact and not answered yet (the status must be published to say so).
    quotes = []
    quote_fields = portal.published("quotes")
    if portal.section_on("quotes") and "status" in quote_fields:
        quotes = [
            (quote, _shown(quote, "status", "quotes"))
            for quote in selectors.section_records(module="quotes", contact=contact, portal=portal)
            .filter(status__in=QUOTES_AWAITING)
            .order_by("valid_until", "-created_at")[:20]
        ]
    context = {
        "contact": contact,
        "open_tickets": open_tickets,
        "unpaid": unpaid,
        "invoice_fields": invoice_fields,
        "quotes": quotes,
        "quote_fields": quote_fields,
        "nav": "home",
    }
    return _page(request, "portal/home.html", context)


@portal_view
@require_http_methods(["GET", "POST"])
def tickets(request: HttpRequest, account: PortalAccount, contact: Any) -> HttpResponse:
    portal = services.settings_get()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            ticket = services.ticket_open(
                account=account, data=request.POST.dict(), uploads=request.FILES.getlist("attachments")
            )
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            return redirect("portal:ticket", ticket_id=ticket.pk)
    rows = _status_labelled(selectors.ticket_list(account=account, contact=contact, portal=portal))
    # The published fields are columns of the list too (the solution, a long text, only on the ticket).
    columns = [name for name in portal.published("tickets") if name != "solution"]
    context = {
        "tickets": _rows(rows, columns, "tickets"),
        "headers": [selectors.field_label("tickets", c) for c in columns],
        "errors": errors,
        "posted": request.POST,
        "nav": "tickets",
    }
    return _page(request, "portal/tickets.html", context, 400 if errors else 200)


@portal_view
@require_http_methods(["GET", "POST"])
def ticket(request: HttpRequest, account: PortalAccount, contact: Any, ticket_id: Any) -> HttpResponse:
    portal = services.settings_get()
    found = selectors.access_ticket(account=account, contact=contact, portal=portal, ticket_id=ticket_id)
    _status_labelled([found])
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "answer":
                services.ticket_answer(
                    account=account,
                    ticket=found,
                    body=request.POST.get("body"),
                    uploads=request.FILES.getlist("attachments"),
                )
            elif action in ("close", "reopen"):
                services.ticket_status_set(account=account, ticket=found, close=action == "close")
            elif action == "rate":
                services.ticket_rate(account=account, ticket=found, rating=request.POST.get("rating"))
            else:
                raise ValidationError({"action": [_("Choose what to do.")]})
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            return redirect("portal:ticket", ticket_id=found.pk)
    shown = [
        (selectors.field_label("tickets", name), value)
        for name in portal.published("tickets")
        if (value := _shown(found, name, "tickets")) not in (None, "")
    ]
    context = {
        "ticket": found,
        "shown_fields": shown,
        "replies": selectors.conversation(ticket=found),
        "documents": selectors.ticket_documents(ticket=found, portal=portal),
        "errors": errors,
        "nav": "tickets",
        "closed": found.status == "Closed",
    }
    return _page(request, "portal/ticket.html", context, 400 if errors else 200)


@portal_view
def faq(request: HttpRequest, account: PortalAccount, contact: Any) -> HttpResponse:
    portal = services.settings_get()
    if not portal.section_on("faq"):
        raise Http404
    query = request.GET.get("q", "")[:200]
    entries = selectors.faq_list(query=query)
    context = {"entries": _rows(entries, portal.published("faq"), "faq"), "query": query, "nav": "faq"}
    return _page(request, "portal/faq.html", context)


@portal_view
def faq_entry(request: HttpRequest, account: PortalAccount, contact: Any, faq_id: Any) -> HttpResponse:
    portal = services.settings_get()
    if not portal.section_on("faq"):
        raise Http404
    entry = selectors.faq_get(faq_id=faq_id)
    shown = [
        (selectors.field_label("faq", n), value)
        for n in portal.published("faq")
        if (value := _shown(entry, n, "faq")) not in (None, "")
    ]
    return _page(request, "portal/faq_entry.html", {"entry": entry, "shown_fields": shown, "nav": "faq"})


@portal_view
def documents(request: HttpRequest, account: PortalAccount, contact: Any) -> HttpResponse:
    portal = services.settings_get()
    if not portal.section_on("documents"):
        raise Http404
    columns = selectors.published_columns(portal=portal, section="documents")
    found = selectors.documents_shared(contact=contact)
    context = {
        "headers": [selectors.field_label("documents", c) for c in columns],
        "items": _rows(found, columns, "documents"),
        "download": "file" in portal.published("documents"),
        "nav": "documents",
    }
    return _page(request, "portal/documents.html", context)


@portal_view
def document_download(request: HttpRequest, account: PortalAccount, contact: Any, document_id: Any) -> HttpResponseBase:
    """A document shared with the contact or attached to one of their tickets; 404 for anything else."""
    from crm_apps.modules.documents import files
    from crm_apps.modules.documents.models import DocumentVersion

    portal = services.settings_get()
    pk = selectors._uuid(document_id)
    if pk is None or not selectors.files_published(portal=portal):  # the admin's publication, as on the pages
        raise Http404
    ticket_ids = selectors.tickets_visible(account=account, contact=contact, portal=portal).values("pk")
    shared = pk in {d.pk for d in selectors.documents_shared(contact=contact)}
    if not shared and not selectors.documents_on_tickets(ticket_ids=ticket_ids).filter(pk=pk).exists():
        raise Http404
    version = DocumentVersion.objects.filter(document_id=pk).order_by("-number").first()
    if version is None:
        raise Http404
    response = FileResponse(files.open_stored(version.storage_name), as_attachment=True, filename=version.file_name)
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


@portal_view
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest, account: PortalAccount, contact: Any) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    saved = ""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "password":
                services.password_change(
                    account=account,
                    current=request.POST.get("current", ""),
                    password=request.POST.get("password", ""),
                    confirm=request.POST.get("confirm", ""),
                )
                return redirect(reverse("portal:login") + "?password=set")
            services.profile_update(account=account, data=request.POST.dict())
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            return redirect(reverse("portal:profile") + "?saved=1")
        contact = services.contact_of(account)
    saved = request.GET.get("saved", "")
    context = {
        "contact": contact,
        "account": account,
        "errors": errors,
        "saved": saved,
        "nav": "profile",
        "languages": services.LANGUAGES,
    }
    return _page(request, "portal/profile.html", context, 400 if errors else 200)


def _section_open(portal: Any, module: str) -> None:
    if module not in selectors.RECORD_SECTIONS or not portal.section_on(module):
        raise Http404


def _status_labelled(tickets: list[Any]) -> list[Any]:
    """Tickets with `portal_status`, their status as the contact reads it (its label in their language)."""
    for ticket in tickets:
        ticket.portal_status = _shown(ticket, "status", "tickets")
    return tickets


def _rows(records: list[Any], columns: list[str], section: str) -> list[tuple[Any, list[Any]]]:
    return [(r, [_shown(r, c, section) for c in columns]) for r in records]


@portal_view
def records(request: HttpRequest, account: PortalAccount, contact: Any, module: str) -> HttpResponse:
    """The contact's quotes, invoices (with payment status), service contracts or assets."""
    portal = services.settings_get()
    _section_open(portal, module)
    spec = registry.get(module)
    columns = selectors.published_columns(portal=portal, section=module)
    found = selectors.section_list(module=module, contact=contact, portal=portal)
    context = {
        "spec": spec,
        "module": module,
        "number_header": selectors.field_label(module, "number"),
        "headers": [selectors.field_label(module, c) for c in columns],
        "items": _rows(found, columns, module),
        "pdf": module in selectors.PDF_SECTIONS and "pdf" in portal.published(module),
        "nav": module,
    }
    return _page(request, "portal/records.html", context)


def _shown(record: Any, column: str, section: str) -> Any:
    """A published value as the portal shows it (a choice's label; a referenced record's name; a custom
    field's display text)."""
    if column.startswith(CUSTOM_PREFIX):
        field = selectors.custom_field(section, column)
        value = (record.custom_data or {}).get(field.key) if field is not None else None
        return field_types.display_value(field, value) if field is not None and value not in (None, "", []) else None
    picklist = registry.get(section).picklists.get(column)
    if picklist:  # a built-in value: its label in the contact's language (the page renders in it)
        value = getattr(record, column)
        return metadata.picklist_labels(picklist).get(value, value) if value else value
    display = getattr(record, f"get_{column}_display", None)
    return display() if callable(display) else getattr(record, column)


@portal_view
def record_pdf(request: HttpRequest, account: PortalAccount, contact: Any, module: str, record_id: Any) -> HttpResponse:
    """A quote's or invoice's PDF, rendered in the contact's language."""
    from crm_apps.inventory import pdf

    portal = services.settings_get()
    _section_open(portal, module)
    if module not in selectors.PDF_SECTIONS or "pdf" not in portal.published(module):
        raise Http404
    record = selectors.access_section_record(module=module, contact=contact, portal=portal, record_id=record_id)
    body = pdf.pdf_for(
        spec=registry.get(module), record=record, actor=services.acting_member(contact), language=account.language
    )
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf.pdf_filename(record)}"'
    return response
