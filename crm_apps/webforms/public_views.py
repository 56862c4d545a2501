"""The public side of a web form, on the tenant's host and open to anyone: the hosted page (GET) and the
submission endpoint (POST to the same address), the definition the embeddable script renders, its
CORS preflight, and the script itself.

Cross-origin requests get `Access-Control-Allow-Origin` only for the sites the admin listed; a POST from
any other site is refused (403) before anything is read. No session or CSRF cookie is involved: the
endpoint takes no member's authority (the record is created as the form's owner)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from crm_apps.webforms import guard, services
from crm_apps.webforms.models import Submission, WebForm
from saas.headers import csp_header, site_origin
from saas.http import client_ip

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
PREFLIGHT_MAX_AGE = "600"


def _form(key: str) -> WebForm:
    form = WebForm.objects.filter(public_key=key).select_related("owner", "created_by").first()
    if form is None:
        raise Http404
    return form


def public_url(request: HttpRequest, form: WebForm) -> str:
    return request.build_absolute_uri(reverse("webforms_public:form", args=[form.public_key]))


def definition(request: HttpRequest, form: WebForm) -> dict[str, Any]:
    """What a page needs to render the form: the questions in order, the consent text and a fresh token."""
    return {
        "action": public_url(request, form),
        "name": form.name,
        "fields": [
            {
                "name": f["field"],
                "label": f["label"],
                "placeholder": f["placeholder"],
                "required": f["required"],
                "type": "file" if f["upload"] else _input_type(f["field"]),
            }
            for f in form.fields
        ],
        "consent": form.consent_text,
        "honeypot": guard.HONEYPOT,
        "token_name": guard.TOKEN,
        "token": guard.token_for(form),
        "submit": _("Send"),
        "sending": _("Sending…"),
        "pow": {"bits": form.proof_of_work_bits, "field": guard.POW_FIELD} if form.proof_of_work_bits else None,
    }


def _input_type(name: str) -> str:
    if "email" in name:
        return "email"
    if name in ("phone", "mobile", "fax") or name.endswith("phone"):
        return "tel"
    if name == "description" or name.endswith("message"):
        return "textarea"
    return "text"


def snippet(request: HttpRequest, form: WebForm) -> str:
    """The HTML a site pastes: a placeholder element and the script that fills it."""
    script = request.build_absolute_uri(reverse("webforms_public:embed"))
    return f'<div data-kestrel-form="{public_url(request, form)}"></div>\n<script src="{script}" defer></script>'


def html_variant(request: HttpRequest, form: WebForm) -> str:
    """A plain <form> that works without JavaScript (the browser follows the redirect after sending), with
    a 1x1 image that counts the page's views (`view.gif`; it sends the page's address as the referrer so
    the UTM source is known) and the small script `form.js` (adds the page's UTM and address to the post;
    solves the proof of work, which is the only part that needs it)."""
    from django.template.loader import render_to_string

    context = {
        "form": form,
        "definition": definition(request, form),
        "pixel": public_url(request, form) + "view.gif",
        "form_script": request.build_absolute_uri(reverse("webforms_public:script")),
    }
    return render_to_string("webforms/_plain_form.html", context)


def _with_cors(response: HttpResponse, form: WebForm, request: HttpRequest) -> HttpResponse:
    origin = request.headers.get("Origin", "")
    response["Vary"] = "Origin"
    if origin and origin != guard.own_origin(request) and origin in form.allowed_origins:
        response["Access-Control-Allow-Origin"] = origin
    return response


def _referrer_query(request: HttpRequest) -> dict[str, str]:
    """The query of the page the request came from (a plain form or the view pixel: the page's UTM)."""
    from urllib.parse import parse_qs, urlsplit

    try:
        query = parse_qs(urlsplit(request.headers.get("Referer", "")[:2000]).query)
    except ValueError:
        return {}
    return {k: v[0] for k, v in query.items() if k in UTM_KEYS and v}


def _visit(request: HttpRequest, values: dict[str, Any]) -> services.Visit:
    page = _referrer_query(request)

    def told(name: str) -> str:
        value = values.get(name) or request.GET.get(name) or page.get(name) or ""
        return str(value)[:500]

    return services.Visit(
        ip=client_ip(request) or None,
        user_agent=request.headers.get("User-Agent", "")[:300],
        origin=request.headers.get("Origin", ""),
        referrer=told("referrer") or request.headers.get("Referer", "")[:500],
        landing_page=told("landing_page") or request.headers.get("Referer", "")[:500],
        utm={k: told(k)[:100] for k in UTM_KEYS if told(k)},
    )


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.content_type == "application/json" or "text/html" not in accept


def _payload(request: HttpRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise services.Rejected(
                Submission.Reason.INVALID, {"non_field_errors": [_("Send a JSON object.")]}
            ) from None
        if not isinstance(data, dict):
            raise services.Rejected(Submission.Reason.INVALID, {"non_field_errors": [_("Send a JSON object.")]})
        return data, {}
    return {k: request.POST.get(k) for k in request.POST}, {k: request.FILES[k] for k in request.FILES}


STATUS: dict[str, int] = {
    Submission.Reason.INVALID: 400,
    Submission.Reason.TOO_FAST: 400,
    Submission.Reason.CHALLENGE: 400,
    Submission.Reason.RATE_LIMITED: 429,
    Submission.Reason.TOO_LARGE: 413,
    Submission.Reason.INACTIVE: 404,
    Submission.Reason.ORIGIN: 403,
}


def _message(reason: str) -> str:
    messages: dict[str, str] = {
        Submission.Reason.TOO_FAST: _("Please take a moment to fill in the form, then send it again."),
        Submission.Reason.RATE_LIMITED: _("Too many submissions; please try again later."),
        Submission.Reason.TOO_LARGE: _("What you sent is too large."),
        Submission.Reason.INACTIVE: _("This form is not accepting submissions."),
        Submission.Reason.ORIGIN: _("This site may not send this form."),
        Submission.Reason.CHALLENGE: _("Please confirm that you are not a robot."),
    }
    return messages.get(reason, _("Please correct the fields below."))


@csrf_exempt
def form_page(request: HttpRequest, key: str) -> HttpResponse:
    """GET: the hosted page. POST: a submission (form-encoded or JSON). OPTIONS: the CORS preflight."""
    form = _form(key)
    if request.method == "OPTIONS":
        return _preflight(request, form)
    if request.method == "POST":
        return _with_cors(_submit(request, form), form, request)
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, POST, OPTIONS"})
    if not form.active:
        return render(request, "webforms/public.html", {"form": form, "closed": True}, status=404)
    visit = _visit(request, {})
    if request.method == "GET" and not request.GET.get("sent"):
        services.stat_add(form=form, source=visit.utm.get("utm_source", ""), views=1)
    response = render(
        request,
        "webforms/public.html",
        {"form": form, "definition": definition(request, form), "sent": bool(request.GET.get("sent"))},
    )
    return _frameable_by_listed_sites(response, form)


def _frameable_by_listed_sites(response: HttpResponse, form: WebForm) -> HttpResponse:
    """The hosted page is the one page another site may put in an <iframe>, and only a site the admin
    listed (origins are validated as scheme://host[:port] when saved); every other page keeps
    frame-ancestors 'none' and X-Frame-Options DENY (saas/headers.py)."""
    # Re-checked as they are sent: origins saved before the strict check (a `;` could add a directive).
    origins = [origin for value in form.allowed_origins if (origin := site_origin(value))]
    if origins:
        response["Content-Security-Policy"] = csp_header({"frame-ancestors": " ".join(origins)})
        response.xframe_options_exempt = True
    return response


def _preflight(request: HttpRequest, form: WebForm) -> HttpResponse:
    origin = request.headers.get("Origin", "")
    if not origin or origin not in form.allowed_origins:
        return HttpResponse(status=403, headers={"Vary": "Origin"})
    return HttpResponse(
        status=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Content-Type, Accept",
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
            "Vary": "Origin",
        },
    )


def _submit(request: HttpRequest, form: WebForm) -> HttpResponse:
    values: dict[str, Any] = {}
    visit = _visit(request, {})
    try:
        if not form.active:
            raise services.Rejected(Submission.Reason.INACTIVE)
        if not guard.origin_allowed(form, visit.origin, request):
            raise services.Rejected(Submission.Reason.ORIGIN)
        guard.size_check(form, request)
        guard.rate_check(form, visit.ip)
        values, uploads = _payload(request)
        visit = _visit(request, values)
        guard.trap_check(form, values)
        guard.timing_check(form, values)
        claimed = guard.pow_check(form, values)
        try:
            guard.challenge_check(form, values)
            services.submission_accept(form=form, values=values, uploads=uploads, visit=visit)
        except services.Rejected:
            guard.pow_release(claimed)
            raise
    except services.Rejected as rejected:
        return _refused(request, form, rejected, visit, values)
    if not _wants_json(request):
        target = form.redirect_url or reverse("webforms_public:form", args=[form.public_key]) + "?sent=1"
        return HttpResponseRedirect(target, status=303)
    body: dict[str, Any] = {
        "ok": True,
        "message": form.success_message or _("Thank you, we have received your message."),
    }
    if form.redirect_url:
        body["redirect"] = form.redirect_url
    return JsonResponse(body, status=201)


def _refused(
    request: HttpRequest, form: WebForm, rejected: services.Rejected, visit: services.Visit, values: dict[str, Any]
) -> HttpResponse:
    detail = {"fields": sorted(rejected.errors)} if rejected.errors else {}
    services.submission_reject(form=form, reason=rejected.reason, visit=visit, detail=detail)
    if rejected.reason == Submission.Reason.HONEYPOT:  # a robot learns nothing from the answer
        if _wants_json(request):
            return JsonResponse({"ok": True, "message": form.success_message or _("Thank you.")}, status=201)
        return HttpResponseRedirect(reverse("webforms_public:form", args=[form.public_key]) + "?sent=1", status=303)
    status = STATUS.get(rejected.reason, 400)
    headers = {"Retry-After": str(rejected.retry_after)} if rejected.retry_after else {}
    errors = rejected.errors or {"non_field_errors": [_message(rejected.reason)]}
    if _wants_json(request) or not form.active:
        return JsonResponse(
            {"ok": False, "message": _message(rejected.reason), "errors": errors}, status=status, headers=headers
        )
    context = {"form": form, "definition": definition(request, form), "errors": errors, "posted": values}
    response = render(request, "webforms/public.html", context, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def form_definition(request: HttpRequest, key: str) -> HttpResponse:
    """The embeddable script's GET (CORS for the listed sites): the form's questions and a fresh token."""
    form = _form(key)
    if request.method == "OPTIONS":
        return _preflight(request, form)
    origin = request.headers.get("Origin", "")
    if not form.active or not guard.origin_allowed(form, origin, request):
        return _with_cors(
            JsonResponse({"ok": False, "message": _message(Submission.Reason.INACTIVE)}, status=404), form, request
        )
    services.stat_add(form=form, source=str(request.GET.get("utm_source") or "")[:100], views=1)
    response = JsonResponse(definition(request, form))
    response["Cache-Control"] = "no-store"
    return _with_cors(response, form, request)


def form_token(request: HttpRequest, key: str) -> HttpResponse:
    """A fresh signed render token (CORS for the listed sites; not counted as a view): what form.js fetches
    for a form with proof of work, since the token pasted with the plain variant grows too old for it and
    each token proves one submission only."""
    form = _form(key)
    if request.method == "OPTIONS":
        return _preflight(request, form)
    origin = request.headers.get("Origin", "")
    if not form.active or not guard.origin_allowed(form, origin, request):
        return _with_cors(
            JsonResponse({"ok": False, "message": _message(Submission.Reason.INACTIVE)}, status=404), form, request
        )
    response = JsonResponse({"token_name": guard.TOKEN, "token": guard.token_for(form)})
    response["Cache-Control"] = "no-store"
    return _with_cors(response, form, request)


# A transparent 1x1 GIF.
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def form_view_pixel(request: HttpRequest, key: str) -> HttpResponse:
    """The plain HTML variant's view counter: a page showing the form loads this image once. Counted only
    for an active form and a page whose origin may show it (no Referer: counted, like a private browser)."""
    form = _form(key)
    referer = request.headers.get("Referer", "")
    origin = _origin_of(referer)
    if form.active and guard.origin_allowed(form, origin, request) and request.method == "GET":
        source = str(request.GET.get("utm_source") or _referrer_query(request).get("utm_source") or "")
        services.stat_add(form=form, source=source[:100], views=1)
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _origin_of(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "-"
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


@cache
def _script(name: str = "embed.js") -> bytes:
    return (Path(__file__).parent / "static" / "webforms" / name).read_bytes()


def form_script(request: HttpRequest) -> HttpResponse:
    """The hosted page's and the plain variant's enhancement: UTM and page address, the proof of work."""
    response = HttpResponse(_script("form.js"), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def embed_script(request: HttpRequest) -> HttpResponse:
    """The script a site includes: served on the tenant's host, so the snippet needs no other address."""
    response = HttpResponse(_script(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
