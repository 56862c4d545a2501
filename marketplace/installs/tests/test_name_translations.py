"""Names an extension adds (pipelines, stages, saved views) shown in the member's language."""

from __future__ import annotations

import copy

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django_tenants.utils import schema_context

from crm_apps.access.models import Member
from crm_apps.engine import metadata
from crm_apps.engine.models import SavedView
from crm_apps.modules.deals import services as deals
from crm_apps.modules.deals.models import Pipeline
from marketplace.installs import selectors
from marketplace.installs.services import extension_install, extension_uninstall
from marketplace.manifest import manifest_validate


def speaking(tenant, member, language: str) -> Member:
    with schema_context(tenant.schema_name):
        Member.objects.filter(pk=member.pk).update(language=language)
        return Member.objects.select_related("user").get(pk=member.pk)


def board(client, pipeline_id) -> str:
    response = client.get(f"/m/deals/board/?pipeline={pipeline_id}")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def installed(tenant_a, admin_of, sales_kit):
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        installation, _ = extension_install(
            actor=admin, listing_id=1, slug=sales_kit.key, name="SaaS sales kit", manifest=sales_kit
        )
        pipeline = Pipeline.objects.get(name="SaaS subscriptions")
    return installation, pipeline


def test_a_russian_speaking_member_sees_russian_names_and_an_english_one_english(
    tenant_a, admin_of, member, client_for, installed
):
    _installation, pipeline = installed
    russian = speaking(tenant_a, member(tenant_a), "ru")
    english = speaking(tenant_a, member(tenant_a), "en")

    page = board(client_for(tenant_a, russian), pipeline.pk)
    assert ">Подписки SaaS</option>" in page
    assert ">Пробный период начат</h2>" in page and ">Коммерческое предложение</h2>" in page
    assert "Trial started" not in page
    listing = client_for(tenant_a, russian).get("/m/deals/").content.decode()
    assert "Продления по дате" in listing and "Renewals by date" not in listing

    page = board(client_for(tenant_a, english), pipeline.pk)
    assert ">SaaS subscriptions</option>" in page and ">Trial started</h2>" in page
    assert "Пробный период" not in page
    assert "Renewals by date" in client_for(tenant_a, english).get("/m/deals/").content.decode()

    with schema_context("alpha"):  # stored names are the manifest's; only the display changes
        assert Pipeline.objects.filter(name="SaaS subscriptions").exists()
        assert SavedView.objects.filter(name="Renewals by date").exists()


def test_a_deal_s_stage_and_pipeline_are_translated_on_its_page_and_form(
    tenant_a, admin_of, member, client_for, installed
):
    _installation, pipeline = installed
    russian = speaking(tenant_a, admin_of(tenant_a), "ru")
    with schema_context("alpha"):
        from crm_apps.engine import registry
        from crm_apps.engine import services as engine

        deal = engine.record_create(
            spec=registry.get("deals"),
            actor=russian,
            data={"name": "Acme renewal", "pipeline": pipeline.pk, "close_date": "2030-01-31"},
        )
    client = client_for(tenant_a, russian)
    detail = client.get(f"/m/deals/{deal.pk}/").content.decode()
    assert "Пробный период начат" in detail and "Подписки SaaS" in detail
    form = client.get(f"/m/deals/{deal.pk}/edit/").content.decode()
    assert ">Пробный период начат</option>" in form


def test_the_workspace_s_own_pipelines_and_renamed_ones_are_shown_as_written(
    tenant_a, admin_of, member, client_for, installed
):
    _installation, pipeline = installed
    russian = speaking(tenant_a, member(tenant_a), "ru")
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        own = deals.pipeline_create(actor=admin, name="Renewals", stages=[{"name": "Proposal", "probability": 50}])
    page = board(client_for(tenant_a, russian), own.pk)
    # "Коммерческое предложение" also names the Quotes module ("Quote") elsewhere on the page: only the
    # stage heading must keep the workspace's own word.
    assert ">Proposal</h2>" in page and ">Коммерческое предложение</h2>" not in page
    with schema_context("alpha"):
        Pipeline.objects.filter(pk=pipeline.pk).update(name="Our subscriptions")
    page = board(client_for(tenant_a, russian), pipeline.pk)
    assert ">Our subscriptions</option>" in page
    assert ">Пробный период начат</h2>" in page  # its stages still belong to the extension's pipeline


def test_uninstall_removes_the_translations(tenant_a, admin_of, installed):
    installation, pipeline = installed
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        with translation.override("ru"):
            metadata.metadata_cache_clear()
            assert pipeline.display_name == "Подписки SaaS"
        extension_uninstall(actor=admin, installation=installation)
        assert selectors.name_translations_for("ru") == {}
        assert selectors.label_translations_for("ru") == {}
        with translation.override("ru"):
            metadata.metadata_cache_clear()
            again = Pipeline.objects.get(pk=pipeline.pk)
            assert again.display_name == "SaaS subscriptions"
            assert [s.display_name for s in again.stages.order_by("position")][:1] == ["Trial started"]


def test_another_tenant_is_unaffected(tenant_a, tenant_b, admin_of, member, client_for, installed):
    admin_b = admin_of(tenant_b)
    with schema_context("beta"):
        theirs = deals.pipeline_create(
            actor=admin_b, name="SaaS subscriptions", stages=[{"name": "Trial started", "probability": 10}]
        )
        assert selectors.name_translations_for("ru") == {}
    russian_b = speaking(tenant_b, member(tenant_b), "ru")
    page = board(client_for(tenant_b, russian_b), theirs.pk)
    assert ">SaaS subscriptions</option>" in page and ">Trial started</h2>" in page
    assert "Подписки SaaS" not in page


def test_translations_of_names_are_validated_with_their_path(sales_kit):
    data = copy.deepcopy(sales_kit.data)
    data["translations"]["ru"]["Renewals by dat"] = "Опечатка"
    data["translations"]["ru"]["Proposal"] = ""
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        manifest_validate(data)
    errors = exc.value.message_dict
    assert list(errors) == ["translations.ru.Proposal"]  # the schema's checks come first
    assert errors["translations.ru.Proposal"] == ["Must not be empty."]
    data["translations"]["ru"]["Proposal"] = "Предложение"
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        manifest_validate(data)
    assert list(exc.value.message_dict) == ["translations.ru.Renewals by dat"]
    assert "is not a label or name this manifest adds" in exc.value.message_dict["translations.ru.Renewals by dat"][0]
