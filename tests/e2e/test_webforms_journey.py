"""Issue 23's capture journey: a company's own site (a static page served by the test on another origin)
embeds the web form's snippet; a visitor fills it in and sends it; the lead arrives in the workspace."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator

import pytest
from django.test import RequestFactory
from django_tenants.utils import tenant_context

from conftest import make_user
from crm_apps.access.models import Member
from crm_apps.modules.leads.models import Lead
from crm_apps.webforms import public_views, services
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def static_site() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A web server on another origin that serves whatever page the test puts in `pages`."""
    pages: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pages
    finally:
        server.shutdown()


def test_a_form_embedded_on_another_site_brings_in_a_lead(live_site, browser, committed, static_site):
    origin, pages = static_site
    admin = make_user(committed.email(), name="Wendy Web")
    tenant = tenant_provision(slug=committed.slug("forms"), name="Forms Co", admin=admin)
    host = f"{tenant.schema_name}.localhost:{live_site}"
    with tenant_context(tenant):
        actor = Member.objects.get(user=admin)
        form = services.webform_save(
            actor=actor,
            data={
                "name": "Contact us",
                "module": "leads",
                "fields": [
                    {"field": "last_name", "required": True, "label": "Your name"},
                    {"field": "email"},
                    {"field": "company"},
                ],
                "hidden": {"description": "Website form"},
                "allowed_origins": [origin],
                "success_message": "Thanks, we will call you.",
                "proof_of_work_bits": 10,  # embed.js solves it in the page before posting
            },
        )
        request = RequestFactory().get("/", HTTP_HOST=host)
        snippet = public_views.snippet(request, form)
    pages["/contact.html"] = (
        "<!doctype html><html><head><title>Acme</title></head><body><h1>Talk to us</h1>" + snippet + "</body></html>"
    ).encode()

    page = browser.new_page()
    page.goto(origin + "/contact.html?utm_source=partner")
    page.get_by_label("Your name *").fill("Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Company").fill("Analytical Engines")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Thanks, we will call you.").wait_for()

    with tenant_context(tenant):
        lead = Lead.objects.get(email="ada@example.com")
        assert (lead.last_name, lead.company, lead.description, lead.owner_id) == (
            "Lovelace",
            "Analytical Engines",
            "Website form",
            actor.pk,
        )
        submission = form.submissions.get()
        assert (submission.utm_source, submission.origin) == ("partner", origin)


def test_the_plain_html_variant_with_proof_of_work_counts_its_view_and_brings_in_a_lead(
    live_site, browser, committed, static_site
):
    """The no-script `<form>` pasted into a page: its 1x1 image counts the view (with the page's UTM source);
    with the proof of work on, the included form.js adds the UTM source and solves it in the browser before the post."""
    from crm_apps.webforms.models import DailyStat

    origin, pages = static_site
    admin = make_user(committed.email(), name="Paula Plain")
    tenant = tenant_provision(slug=committed.slug("plain"), name="Plain Co", admin=admin)
    host = f"{tenant.schema_name}.localhost:{live_site}"
    with tenant_context(tenant):
        actor = Member.objects.get(user=admin)
        form = services.webform_save(
            actor=actor,
            data={
                "name": "Quote request",
                "module": "leads",
                "fields": [{"field": "last_name", "required": True, "label": "Your name"}, {"field": "company"}],
                "allowed_origins": [origin],
                "proof_of_work_bits": 12,
            },
        )
        html = public_views.html_variant(RequestFactory().get("/", HTTP_HOST=host), form)
    assert "view.gif" in html and "form.js" in html
    pages["/quote.html"] = (
        "<!doctype html><html><head><title>Acme</title></head><body><h1>Get a quote</h1>" + html + "</body></html>"
    ).encode()

    page = browser.new_page()
    seen: list[str] = []  # what the page asked for, for the failure message
    page.on("request", lambda r: seen.append(r.method + " " + r.url))
    page.goto(origin + "/quote.html?utm_source=flyer")
    page.wait_for_function("() => document.querySelector('form[data-kestrel-ready]') !== null")
    page.get_by_label("Your name *").fill("Babbage")
    page.get_by_label("Company").fill("Difference Engines")
    page.get_by_role("button", name="Send").click()
    try:
        page.wait_for_url(re.compile(r".*/f/[^/]+/\?sent=1$"), timeout=20000)
    except Exception:
        with tenant_context(tenant):
            log = list(form.submissions.values_list("status", "reason", "detail", "utm_source"))
        raise AssertionError((page.url, seen, log)) from None
    assert "Thank you" in page.content()

    with tenant_context(tenant):
        lead = Lead.objects.get(last_name="Babbage")
        assert lead.company == "Difference Engines"
        submission = form.submissions.get()
        assert (submission.status, submission.utm_source) == ("accepted", "flyer")
        views = {row.source: row.views for row in DailyStat.objects.filter(form=form)}
        assert views.get("flyer") == 1, views
    assert any(url.endswith("/token.json") for url in seen), seen  # a fresh token, not the pasted one

    # The same pasted HTML keeps working for the next visitor (each gets their own token to prove).
    second = browser.new_page()
    second.goto(origin + "/quote.html")
    second.wait_for_function("() => document.querySelector('form[data-kestrel-ready]') !== null")
    second.get_by_label("Your name *").fill("Lovelace")
    second.get_by_label("Company").fill("Analytical Engines")
    second.get_by_role("button", name="Send").click()
    second.wait_for_url(re.compile(r".*/f/[^/]+/\?sent=1$"), timeout=20000)
    with tenant_context(tenant):
        assert sorted(Lead.objects.values_list("last_name", flat=True)) == ["Babbage", "Lovelace"]
