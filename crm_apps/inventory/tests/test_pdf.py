"""PDFs: the text of the rendered file holds the lines and totals (Cyrillic too), hidden fields never
reach it, other tenants get 404, sending logs on the timeline; the safe template renderer."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from pypdf import PdfReader

from crm_apps.inventory.render import TemplateError, render, validate
from crm_apps.inventory.tests.conftest import post, restricted

pytestmark = pytest.mark.django_db


def _text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _invoice(api, catalogue, **extra):
    response = post(
        api,
        "/api/v1/invoices/",
        {
            "subject": "Гамаки для сада",
            "organization": str(catalogue.organization.pk),
            "contact": str(catalogue.contact.pk),
            "customer_po": "PO-SECRET-77",
            "lines": [
                {"product": str(catalogue.hammock.pk), "quantity": "2", "description": "Синий гамак"},
                {"description": "Установка на месте", "quantity": "1", "list_price": "49.50"},
            ],
            "discount_amount": "9.50",
            **extra,
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_pdf_text_holds_lines_totals_and_cyrillic(api, catalogue):
    invoice = _invoice(api, catalogue)
    response = api.get(f"/api/v1/invoices/{invoice['id']}/pdf?lang=ru")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = _text(response.content)
    assert invoice["number"] in text
    assert "Гамаки для сада" in text
    assert "Hammock" in text and "Синий гамак" in text and "Установка на месте" in text
    assert "Итого к оплате" in text
    # 2 x 120 = 240, 49.50; subtotal 289.50, discount 9.50, VAT 48.00, total 328.00
    for amount in ("240,00", "49,50", "289,50", "9,50", "48,00", "328,00"):
        assert amount in text.replace("\xa0", " "), amount


def test_pdf_in_english_from_the_page(api, catalogue, client_for, tenant_a, admin_of):
    invoice = _invoice(api, catalogue)
    page = client_for(tenant_a, admin_of(tenant_a))
    response = page.get(f"/m/invoices/{invoice['id']}/pdf/?lang=en")
    assert response["Content-Disposition"].startswith("attachment")
    text = _text(response.content)
    assert "Grand total" in text and "328.00" in text
    preview = page.get(f"/m/invoices/{invoice['id']}/pdf/?inline=1")
    assert preview["Content-Disposition"].startswith("inline")


def test_a_hidden_field_never_reaches_the_pdf(api, catalogue, tenant_a, admin_of, member, client_for):
    invoice = _invoice(api, catalogue)
    limited = restricted(tenant_a, admin_of(tenant_a), member, flags={}, fields={("invoices", "customer_po"): "hidden"})
    full = _text(api.get(f"/api/v1/invoices/{invoice['id']}/pdf?lang=en").content)
    partial = _text(client_for(tenant_a, limited).get(f"/api/v1/invoices/{invoice['id']}/pdf?lang=en").content)
    assert "PO-SECRET-77" in full
    assert "PO-SECRET-77" not in partial
    assert "Hammock" in partial


@pytest.mark.parametrize("module", ["quotes", "sales-orders", "purchase-orders", "invoices"])
def test_other_tenant_gets_404_for_the_pdf(api, catalogue, tenant_b, admin_of, client_for, module):
    doc = post(api, f"/api/v1/{module}/", {"subject": "Private", "lines": []}).json()
    other = client_for(tenant_b, admin_of(tenant_b))
    assert other.get(f"/api/v1/{module}/{doc['id']}/pdf").status_code == 404
    assert other.get(f"/m/{module}/{doc['id']}/pdf/").status_code == 404
    assert api.get(f"/api/v1/{module}/{doc['id']}/pdf").status_code == 200


def test_send_emails_the_pdf_to_the_contact_and_logs_it(api, catalogue, django_capture_on_commit_callbacks):
    invoice = _invoice(api, catalogue)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, f"/api/v1/invoices/{invoice['id']}/send", {"message": "Please find the invoice."})
    assert response.status_code == 200, response.json()
    assert response.json()["sent_to"] == ["ann@globex.example"]
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["ann@globex.example"]
    name, content, kind = sent.attachments[0]
    assert name == f"{invoice['number']}.pdf" and kind == "application/pdf"
    assert "Hammock" in _text(content)
    timeline = api.get(f"/api/v1/invoices/{invoice['id']}/timeline/").json()["results"]
    assert any("emailed_to" in (entry.get("changes") or {}) for entry in timeline)


def test_send_refuses_bad_addresses(api, catalogue):
    invoice = _invoice(api, catalogue)
    response = post(api, f"/api/v1/invoices/{invoice['id']}/send", {"to": ["not-an-address"]})
    assert response.status_code == 400
    assert "to" in response.json()
    assert not mail.outbox


def test_tenant_template_and_preview(api, catalogue, client_for, tenant_a, admin_of):
    invoice = _invoice(api, catalogue)
    page = client_for(tenant_a, admin_of(tenant_a))
    template = (
        "<html><body><h1>Rechnung {{ document.number }}</h1>"
        "{{#lines}}<p>{{ item }}</p>{{/lines}}<p>{{ totals.grand_total }}</p></body></html>"
    )
    preview = page.post(
        "/m/invoices/settings/documents/?lang=en",
        {"lang": "en", "html": template, "terms_conditions": "", "stock_status": "Approved", "action": "preview"},
    )
    assert preview.status_code == 200
    assert b"Rechnung" in preview.content
    saved = page.post(
        "/m/invoices/settings/documents/",
        {"lang": "en", "html": template, "terms_conditions": "", "stock_status": "Approved"},
    )
    assert saved.status_code == 302
    text = _text(api.get(f"/api/v1/invoices/{invoice['id']}/pdf?lang=en").content)
    assert f"Rechnung {invoice['number']}" in text
    broken = page.post(
        "/m/invoices/settings/documents/",
        {"lang": "en", "html": "{{#lines}}", "terms_conditions": "", "stock_status": ""},
    )
    assert broken.status_code == 400


def test_renderer_escapes_and_reaches_only_the_context():
    context = {"document": {"subject": "<script>x</script>"}, "lines": [{"item": "A&B"}], "secret": object()}
    out = render(
        "{{ document.subject }}|{{#lines}}{{ item }}{{/lines}}|{{ document.__class__ }}|{{{ document.subject }}}",
        context,
    )
    assert out == "&lt;script&gt;x&lt;/script&gt;|A&amp;B||&lt;script&gt;x&lt;/script&gt;"
    with pytest.raises(TemplateError):
        validate("{{#lines}}")
    with pytest.raises(TemplateError):
        validate("{{/lines}}")


def test_sends_over_the_hourly_budget_are_refused_per_member(
    api, catalogue, settings, django_capture_on_commit_callbacks
):
    settings.INVENTORY_SENDS_PER_HOUR = 2
    invoice = _invoice(api, catalogue)
    url = f"/api/v1/invoices/{invoice['id']}/send"
    with django_capture_on_commit_callbacks(execute=True):
        answers = [post(api, url, {"message": "x"}) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 400]
    assert answers[0].json()["status"] == "queued"
    assert answers[2].json()["to"] == ["You have sent 2 documents in the last hour; try again later."]
    assert len(mail.outbox) == 2


def test_a_failed_delivery_notifies_the_sender_and_never_fails_the_request(
    api, catalogue, settings, django_capture_on_commit_callbacks, tenant_a, admin_of
):
    import socket

    from django_tenants.utils import tenant_context

    from crm_apps.notifications.models import Notification

    with socket.socket() as probe:  # a port nobody listens on: the real SMTP client gets a refusal
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    invoice = _invoice(api, catalogue)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, f"/api/v1/invoices/{invoice['id']}/send", {"message": "x"})

    assert response.status_code == 200
    with tenant_context(tenant_a):
        told = Notification.objects.get(kind="document_send_failed")
        assert told.recipient_id == admin_of(tenant_a).pk
        assert told.params["to"] == "ann@globex.example" and told.params["error"]
