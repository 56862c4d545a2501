"""Manifest schema 2: the app, UI extensions, document/email templates, reports and workflow actions are
validated with an error per JSON path; bounded in size; templates and reports checked at install."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from marketplace.manifest import ManifestInvalid, manifest_validate
from marketplace.ui.tests.conftest import EXTENSIONS, install

pytestmark = pytest.mark.django_db


def base(slug: str = "maps-panel") -> dict[str, Any]:
    return copy.deepcopy(json.loads((EXTENSIONS / slug / "manifest.json").read_text(encoding="utf-8")))


def errors_of(data: Any) -> dict[str, list[str]]:
    with pytest.raises(ManifestInvalid) as caught:
        manifest_validate(data)
    return caught.value.errors


def test_the_shipped_app_manifests_validate():
    assert manifest_validate(base()).data["app"]["origin"] == "https://maps.crm-labs.example"
    assert len(manifest_validate(base("document-pack")).data["document_templates"]) == 4


def test_app_kinds_need_schema_version_2():
    data = base()
    data["schema_version"] = 1
    errors = errors_of(data)
    assert set(errors) == {"app", "ui", "workflow_actions", "workflow_triggers", "field_types"}
    assert errors["ui"] == ["Needs “schema_version”: 2."]


def test_frame_and_action_urls_must_be_on_the_declared_origin(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    data = base()
    data["ui"]["record_panels"][0]["url"] = "https://evil.example/panel"
    data["workflow_actions"][0]["url"] = "https://maps.crm-labs.example.evil.example/x"
    errors = errors_of(data)
    assert errors["ui.record_panels.0.url"] == [
        "The address must be on the app's origin https://maps.crm-labs.example."
    ]
    assert "workflow_actions.0.url" in errors
    no_app = base()
    del no_app["app"]
    assert errors_of(no_app)["ui.record_panels.0.url"] == ["Declare the app's origin (“app.origin”) first."]


def test_the_origin_is_https_public_and_never_the_platforms_domain(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    data = base()
    text = json.dumps(data).replace("https://maps.crm-labs.example", "http://maps.crm-labs.example")
    assert errors_of(text)["app.origin"] == ["The app's origin must use https."]
    ours = json.dumps(data).replace("https://maps.crm-labs.example", f"https://evil.{settings.BASE_DOMAIN}")
    assert "An app cannot live on the platform's own domain." in errors_of(ours)["app.origin"]
    malformed = base()
    malformed["app"]["origin"] = "https://maps.example/path"
    assert "app.origin" in errors_of(malformed)


def test_modules_keys_and_shapes_are_checked_per_item():
    data = base()
    data["ui"]["record_panels"][0]["modules"] = ["organizations", "spaceships"]
    data["ui"]["record_panels"][0]["height"] = 5000
    data["workflow_actions"].append(dict(data["workflow_actions"][0]))
    data["ui"]["settings_pages"] = [{"key": "cfg", "label": "", "url": "https://maps.crm-labs.example/cfg"}]
    errors = errors_of(data)
    assert errors["ui.record_panels.0.height"] == ["Must be at most 1200."]
    assert errors["ui.settings_pages.0.label"] == ["Must not be empty."]
    # Schema errors come first; the semantic ones once the shape is right.
    data["ui"]["record_panels"][0]["height"] = 300
    data["ui"]["settings_pages"][0]["label"] = "Settings"
    errors = errors_of(data)
    assert errors["ui.record_panels.0.modules.1"] == ["Unknown module “spaceships”."]
    assert errors["workflow_actions.1.key"] == ["The key “geocode” is used twice."]


def test_document_templates_parse_and_one_per_module_and_language():
    data = base("document-pack")
    data["document_templates"][0]["html"] = "<p>{{#lines}} never closed</p>"
    data["document_templates"][1]["language"] = data["document_templates"][0]["language"]
    data["document_templates"][1]["module"] = data["document_templates"][0]["module"]
    errors = errors_of(data)
    assert "document_templates.0.html" in errors
    assert errors["document_templates.1"] == ["A second template of this module in this language."]
    wrong = base("document-pack")
    wrong["document_templates"][0]["module"] = "deals"
    wrong["email_templates"][0]["module"] = "nowhere"
    wrong["reports"][0]["definition"] = "select *"
    errors = errors_of(wrong)
    assert errors["document_templates.0.module"][0].startswith("Must be one of: quotes, invoices")
    assert errors["reports.0.definition"] == ["Expected an object."]
    wrong["document_templates"][0]["module"] = "quotes"
    wrong["reports"][0]["definition"] = {"module": "quotes"}
    assert errors_of(wrong)["email_templates.0.module"] == ["Unknown module “nowhere”."]


def test_size_is_bounded():
    data = base("document-pack")
    data["document_templates"][0]["html"] = "x" * 60_001
    assert errors_of(data)["document_templates.0.html"] == ["Use at most 60000 characters."]
    huge = base("document-pack")
    for item in huge["document_templates"]:
        item["html"] = "<p>" + "y" * 59_000 + "</p>"
    huge["email_templates"] = huge["email_templates"] * 3
    for index, item in enumerate(huge["email_templates"]):
        item["key"] = f"k{index}"
        item["body_html"] = "z" * 10_000
    assert errors_of(json.dumps(huge))["manifest"] == ["The manifest is larger than 256 KB."]


def test_a_report_the_platform_refuses_fails_the_install_under_its_path_and_writes_nothing(tenant_a, admin_of):
    from crm_apps.inventory.models import PdfTemplate
    from crm_apps.mail.models import Template
    from marketplace.installs.models import ExtensionInstallation

    data = base("document-pack")
    data["reports"][0]["definition"] = {"module": "quotes", "type": "summary", "group_by": ["nope"]}
    manifest = manifest_validate(data)
    with pytest.raises(ValidationError) as caught:
        install(tenant_a, admin_of(tenant_a), manifest)
    assert any(key.startswith("reports.0.definition") for key in caught.value.message_dict)
    with schema_context(tenant_a.schema_name):
        assert not ExtensionInstallation.objects.exists()
        assert not PdfTemplate.objects.exists()
        assert not Template.objects.filter(name__contains="classic").exists()
