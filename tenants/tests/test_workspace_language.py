"""A workspace's language: built-in values are created in it, shown in the member's language when a
label exists, and the API keeps the stored values (saas/value_labels.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.utils import translation
from django_tenants.utils import schema_context, tenant_context

from crm_apps.access.models import Group, Member, Profile, Role
from crm_apps.engine import metadata
from crm_apps.engine.models import PicklistValue
from crm_apps.modules.deals.models import Pipeline
from saas.value_labels import label_pick
from tenants.models import Tenant, User

pytestmark = pytest.mark.django_db

GOOD = {
    "organization": "Рога и копыта",
    "subdomain": "roga",
    "name": "Остап Бендер",
    "email": "ostap@example.com",
    "password": "analytical-engine-1843",
}


@pytest.fixture
def signed_in(client_for, admin_of):
    def make(slug: str) -> Client:
        tenant = Tenant.objects.get(schema_name=slug)
        return client_for(tenant, admin_of(tenant))

    return make


def test_api_signup_with_language_ru_creates_russian_built_in_values(public_client):
    response = public_client.post("/api/v1/signup", {**GOOD, "language": "ru"}, content_type="application/json")

    assert response.status_code == 201
    tenant = Tenant.objects.get(schema_name="roga")
    assert tenant.language == "ru"
    with tenant_context(tenant), translation.override("ru"):
        assert Member.objects.get().language == "ru"
        pipeline = Pipeline.objects.get(is_default=True)
        assert (pipeline.name, pipeline.display_name) == ("Sales", "Продажи")
        stages = list(pipeline.stages.order_by("position"))
        assert [s.display_name for s in stages][:2] == ["Поиск клиентов", "Квалификация"]
        assert stages[-2].display_name == "Успешно закрыта"
        cold = PicklistValue.objects.get(picklist__name="lead_status", value="Cold")
        assert cold.label == "Холодный"  # stored in the workspace's language
        assert cold.labels == {"en": "Cold", "ru": "Холодный"}
        assert metadata.picklist_labels("lead_source")["Web Site"] == "Веб-сайт"
        assert str(Role.objects.get(name="CEO")) == "Генеральный директор"
        assert str(Profile.objects.get(name="Guest")) == "Гость"
        assert Profile.objects.get(name="Sales").description == "Отдел продаж"
        assert str(Group.objects.get(name="Team Selling")) == "Командные продажи"


def test_html_signup_takes_the_language_field_and_the_board_shows_russian_stages(public_client, signed_in):
    response = public_client.post("/signup/", {**GOOD, "language": "ru"})

    assert response.status_code == 302
    assert Tenant.objects.get(schema_name="roga").language == "ru"
    board = signed_in("roga").get("/m/deals/board/")
    assert board.status_code == 200
    page = board.content.decode()
    assert "Поиск клиентов" in page
    assert "Переговоры или согласование" in page
    assert "Продажи" in page


def test_html_signup_defaults_to_the_page_language(public_client):
    page = public_client.get("/signup/", HTTP_ACCEPT_LANGUAGE="ru")
    assert '<option value="ru" selected>' in page.content.decode()

    public_client.post("/signup/", GOOD, HTTP_ACCEPT_LANGUAGE="ru")

    assert Tenant.objects.get(schema_name="roga").language == "ru"


def test_signup_refuses_an_unknown_language_and_writes_nothing(public_client):
    response = public_client.post("/api/v1/signup", {**GOOD, "language": "xx"}, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()) == ["language"]
    assert not Tenant.objects.filter(schema_name="roga").exists()
    assert not User.objects.filter(email="ostap@example.com").exists()


def test_english_signup_keeps_english_values(public_client):
    public_client.post("/api/v1/signup", {**GOOD, "language": "en"}, content_type="application/json")

    with schema_context("roga"), translation.override("en"):
        assert PicklistValue.objects.get(picklist__name="lead_status", value="Cold").label == "Cold"
        assert Pipeline.objects.get(is_default=True).display_name == "Sales"


def test_member_language_wins_then_workspace_language_then_stored_value(public_client):
    public_client.post("/api/v1/signup", {**GOOD, "language": "ru"}, content_type="application/json")
    tenant = Tenant.objects.get(schema_name="roga")
    labels = {"en": "Cold", "ru": "Холодный"}

    with tenant_context(tenant):
        assert connection.tenant.language == "ru"  # type: ignore[attr-defined]
        with translation.override("en"):
            assert label_pick(labels, "stored") == "Cold"
            assert metadata.picklist_labels("lead_status")["Cold"] == "Cold"
            assert Pipeline.objects.get(is_default=True).display_name == "Sales"
        with translation.override("de"):  # no label in the member's language: the workspace's
            assert label_pick(labels, "stored") == "Холодный"
        with translation.override("en"):
            assert label_pick({"ru": "Холодный"}, "stored") == "Холодный"
            assert label_pick({"de": "Kalt"}, "stored") == "stored"
            assert label_pick({}, "stored") == "stored"


def test_api_keeps_stored_values_and_adds_labels(public_client, signed_in):
    public_client.post("/api/v1/signup", {**GOOD, "language": "ru"}, content_type="application/json")
    api = signed_in("roga")

    created = api.post(
        "/api/v1/leads/",
        {"last_name": "Паниковский", "company": "Геркулес", "status": "Cold"},
        content_type="application/json",
    )

    assert created.status_code == 201, created.json()
    assert api.get(f"/api/v1/leads/{created.json()['id']}/").json()["status"] == "Cold"
    pipelines = api.get("/api/v1/pipelines/").json()["results"]
    assert (pipelines[0]["name"], pipelines[0]["label"]) == ("Sales", "Продажи")
    assert (pipelines[0]["stages"][0]["name"], pipelines[0]["stages"][0]["label"]) == ("Prospecting", "Поиск клиентов")
    listed = api.get("/m/leads/").content.decode()
    assert "Холодный" in listed
    shown = api.get(f"/m/leads/{created.json()['id']}/").content.decode()
    assert "Холодный" in shown
    fields = {f["name"]: f for f in api.get("/api/v1/meta/modules/leads").json()["fields"]}
    statuses = {c["value"]: c["label"] for c in fields["status"]["picklist"]}
    assert statuses["Cold"] == "Холодный"
    assert statuses["Junk Lead"] == "Нецелевой лид"


def test_renaming_a_value_renames_it_in_the_admins_language_only(public_client):
    from crm_apps.engine.services import picklist_value_update

    public_client.post("/api/v1/signup", {**GOOD, "language": "ru"}, content_type="application/json")
    with schema_context("roga"):
        admin = Member.objects.get(is_admin=True)
        value = PicklistValue.objects.get(picklist__name="lead_status", value="Hot")
        with translation.override("en"):
            picklist_value_update(actor=admin, value=value, label="Very hot", labels={"ru": "Очень горячий"})
        value.refresh_from_db()

        assert (value.value, value.labels) == ("Hot", {"en": "Very hot", "ru": "Очень горячий"})


def test_renaming_a_built_in_role_renames_it_in_the_admins_language(public_client):
    from crm_apps.access.services import role_update

    public_client.post("/api/v1/signup", {**GOOD, "language": "ru"}, content_type="application/json")
    with schema_context("roga"), translation.override("ru"):
        admin = Member.objects.get(is_admin=True)
        role = Role.objects.get(name="CEO")
        role_update(actor=admin, role=role, name="Директор", profile_ids=[p.pk for p in role.profiles.all()])
        role.refresh_from_db()

        assert (role.name, role.labels["ru"], role.labels["en"]) == ("Директор", "Директор", "CEO")
        assert str(role) == "Директор"
        with translation.override("en"):
            assert str(role) == "CEO"
