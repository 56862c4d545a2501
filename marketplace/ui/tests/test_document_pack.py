"""The first-party document pack: installs PDF templates for quotes and invoices in en and ru, email
templates and a shared report through the features' services; the PDFs come out in its design; a
workspace's own template is never taken over; uninstall brings the built-in templates back; other
workspaces are untouched."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context
from pypdf import PdfReader

from crm_apps.inventory.models import PdfTemplate
from crm_apps.inventory.tests.conftest import api, catalogue, post  # noqa: F401  (fixtures)
from crm_apps.mail.models import Template
from crm_apps.reports.models import Report
from marketplace.installs.services import extension_uninstall
from marketplace.manifest import manifest_validate
from marketplace.ui.tests.conftest import EXTENSIONS, install

pytestmark = pytest.mark.django_db


def pack():
    return manifest_validate((EXTENSIONS / "document-pack" / "manifest.json").read_text(encoding="utf-8"))


def _text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _document(api, catalogue, module: str) -> dict:  # noqa: F811
    response = post(
        api,
        f"/api/v1/{module}/",
        {
            "subject": "Garden hammocks",
            "organization": str(catalogue.organization.pk),
            "lines": [{"product": str(catalogue.hammock.pk), "quantity": "2"}],
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_the_pack_makes_quote_and_invoice_pdfs_in_both_languages(api, catalogue, tenant_a, admin_of):  # noqa: F811
    installation, _key = install(tenant_a, admin_of(tenant_a), pack())
    with schema_context("alpha"):
        assert PdfTemplate.objects.count() == 4
        assert Template.objects.filter(name="Отправка счёта (классика)", module="invoices").exists()
        assert Report.objects.filter(name="Quotes by status", sharing="shared").exists()
    expected = {
        ("quotes", "en"): "Commercial offer",
        ("quotes", "ru"): "Коммерческое предложение",
        ("invoices", "en"): "Invoice №",
        ("invoices", "ru"): "Счёт на оплату",
    }
    for module in ("quotes", "invoices"):
        document = _document(api, catalogue, module)
        for language in ("en", "ru"):
            response = api.get(f"/api/v1/{module}/{document['id']}/pdf?lang={language}")
            assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
            text = _text(response.content)
            assert expected[(module, language)] in text and document["number"] in text
            assert "Hammock" in text
    # Uninstall: the built-in templates apply again, the pack's emails and report are gone.
    with schema_context("alpha"):
        extension_uninstall(actor=admin_of(tenant_a), installation=installation)
        assert not PdfTemplate.objects.exists()
        assert not Template.objects.filter(name__contains="classic").exists()
        assert not Report.objects.filter(name="Quotes by status").exists()
    text = _text(api.get(f"/api/v1/invoices/{document['id']}/pdf?lang=en").content)
    assert "Classic document pack" not in text and document["number"] in text


def test_a_workspace_template_is_never_taken_over(tenant_a, tenant_b, admin_of):
    with schema_context("alpha"):
        PdfTemplate.objects.create(module="invoices", language="ru", html="<p>Наш счёт {{ document.number }}</p>")
    with pytest.raises(ValidationError) as caught:
        install(tenant_a, admin_of(tenant_a), pack())
    assert caught.value.message_dict == {
        "document_templates.3": ["The workspace already has its own invoices template in ru."]
    }
    with schema_context("alpha"):
        assert PdfTemplate.objects.get().html.startswith("<p>Наш счёт")
        assert not Template.objects.filter(name__contains="classic").exists()
    # Tenant B installs it fine; tenant A's rows are untouched by that.
    install(tenant_b, admin_of(tenant_b), pack())
    with schema_context("beta"):
        assert PdfTemplate.objects.count() == 4
    with schema_context("alpha"):
        assert PdfTemplate.objects.count() == 1


def test_reinstall_and_upgrade_are_idempotent(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    install(tenant_a, admin, pack())
    install(tenant_a, admin, pack())
    data = pack().data
    data["version"] = "1.1.0"
    data["document_templates"] = data["document_templates"][:2]  # quotes only
    data["email_templates"] = data["email_templates"][:1]
    install(tenant_a, admin, manifest_validate(data))
    with schema_context("alpha"):
        assert sorted(PdfTemplate.objects.values_list("module", "language")) == [("quotes", "en"), ("quotes", "ru")]
        assert Template.objects.filter(name__contains="classic").count() == 1
        assert Report.objects.filter(name="Quotes by status").count() == 1
