"""Migration from vtiger, end to end over the real protocol: a second workspace loaded with vtiger-shaped
data serves its own /webservice.php on a live server; `vtiger_import` (the command and the settings
page's background job) reads it into the first. Running again updates and never duplicates."""

from __future__ import annotations

import socket
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django_tenants.utils import tenant_context

from conftest import host_of, make_user, shared_on_unlimited_plan, sign_in
from crm_apps.access.models import Invitation, Member
from crm_apps.engine import registry
from crm_apps.engine.models import Comment
from crm_apps.engine.services import comment_add, custom_field_create, picklist_value_add, record_create, record_update
from crm_apps.vtiger.models import ImportRun
from crm_apps.vtiger.services import access_key_get
from tenants.services import tenant_provision

pytestmark = [pytest.mark.slow]
PRICE_LIST = "Widgets 10 EUR\nГаджеты 25 EUR\n".encode()


@pytest.fixture
def localhost_names(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture
def pair(committed: Any) -> tuple[Any, Any, str]:
    source = tenant_provision(
        slug=committed.slug("vsrc"), name="Old vtiger", admin=make_user(committed.email(), name="Otto Old")
    )
    target = tenant_provision(
        slug=committed.slug("vdst"), name="New home", admin=make_user(committed.email(), name="Nina New")
    )
    shared_on_unlimited_plan([source.schema_name, target.schema_name])
    colleague_email = committed.email()
    with tenant_context(source):
        admin = Member.objects.select_related("user").get(is_admin=True)
        from crm_apps.access.models import Role
        from crm_apps.access.services import group_save, member_create, role_create

        default_role = Role.objects.get(default_for_new=True)
        executive = role_create(
            actor=admin,
            name="Account Executive",
            parent=Role.objects.get(parent__isnull=True),
            profile_ids=default_role.profiles.values_list("pk", flat=True),
        )
        colleague = member_create(tenant=source, user=make_user(colleague_email, name="Carl Colleague"))
        Member.objects.filter(pk=colleague.pk).update(role=executive)
        field_team = group_save(actor=admin, group=None, name="Field Team", description="Visits", member_ids=[admin.pk])
        custom_field_create(actor=admin, spec=registry.get("contacts"), key="hobby", label="Hobby", type="text")
        picklist_value_add(actor=admin, name="lead_source", label="Trade fair 2031")
        org = record_create(
            spec=registry.get("organizations"), actor=admin, data={"name": "Initech", "billing_city": "Austin"}
        )
        boss = record_create(
            spec=registry.get("contacts"),
            actor=admin,
            data={
                "last_name": "Lumbergh",
                "organization": org,
                "lead_source": "Trade fair 2031",
                "owner": colleague.pk,
            },
            custom={"hobby": "Golf"},
        )
        worker = record_create(
            spec=registry.get("contacts"),
            actor=admin,
            data={"last_name": "Gibbons", "organization": org, "owner": None, "owner_group": field_team.pk},
        )
        record_update(spec=registry.get("contacts"), actor=admin, record=worker, data={"reports_to": boss})
        record_create(
            spec=registry.get("deals"),
            actor=admin,
            data={"name": "Printers", "organization": org, "contact": boss, "close_date": "2031-04-01"},
        )
        comment_add(spec=registry.get("organizations"), actor=admin, record=org, body="Met at the fair")
        from io import BytesIO

        from crm_apps.modules.documents.services import Upload, document_create

        document_create(
            actor=admin,
            data={"title": "Price list"},
            upload=Upload(stream=BytesIO(PRICE_LIST), name="prices.txt", size=len(PRICE_LIST)),
        )
        key = access_key_get(member=admin).key
    return source, target, key, colleague_email  # type: ignore[return-value]


def counts(tenant: Any) -> dict[str, int]:
    with tenant_context(tenant):
        out = {
            k: registry.get(k).records().filter(deleted_at__isnull=True).count()
            for k in ("organizations", "contacts", "deals")
        }
        out["comments"] = Comment.objects.count()
        return out


def test_command_imports_everything_and_a_second_run_updates_without_duplicates(
    media_root, live_site, pair, localhost_names
):
    source, target, key, colleague_email = pair
    with tenant_context(source):
        admin_email = Member.objects.select_related("user").get(is_admin=True).user.email
    url = f"http://{source.schema_name}.localhost:{live_site}"
    out = StringIO()

    call_command(
        "vtiger_import", target.schema_name, "--url", url, "--user", admin_email, "--access-key", key, stdout=out
    )

    assert counts(target) == {"organizations": 1, "contacts": 2, "deals": 1, "comments": 1}
    with tenant_context(target):
        contacts = {c.last_name: c for c in registry.get("contacts").records().select_related("organization")}
        assert contacts["Gibbons"].reports_to_id == contacts["Lumbergh"].pk  # a reference set by the second pass
        assert contacts["Lumbergh"].organization.name == "Initech"
        assert contacts["Lumbergh"].lead_source == "Trade fair 2031"  # the picklist value came along
        assert contacts["Lumbergh"].custom_data == {"hobby": "Golf"}  # and the custom field
        invitation = Invitation.objects.select_related("role").get(email__iexact=colleague_email)
        assert invitation.role is not None and invitation.role.name == "Account Executive"  # the role came along
        assert contacts["Gibbons"].owner_group.name == "Field Team"  # a record owned by a group stays so
        assert contacts["Gibbons"].owner_group.description == "Visits"
        deal = registry.get("deals").records().get()
        assert (deal.organization.name, deal.contact.last_name) == ("Initech", "Lumbergh")
        assert "Met at the fair" in Comment.objects.get().body
        from django.core.files.storage import default_storage

        from crm_apps.modules.documents.models import DocumentVersion

        assert DocumentVersion.objects.filter(document__title="Price list").exists(), out.getvalue()
        version = DocumentVersion.objects.get(document__title="Price list")  # the file came over files_retrieve
        with default_storage.open(version.storage_name, "rb") as stored:
            assert stored.read() == PRICE_LIST
        assert version.file_name == "prices.txt"
    assert "Contacts:" in out.getvalue() and "invited" in out.getvalue()
    assert f"files: 1 ({len(PRICE_LIST)} bytes)" in out.getvalue()

    with tenant_context(source):
        admin = Member.objects.get(is_admin=True)
        boss = registry.get("contacts").records().get(last_name="Lumbergh")
        record_update(spec=registry.get("contacts"), actor=admin, record=boss, data={"title": "VP"})
        record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Initrode"})
    call_command(
        "vtiger_import", target.schema_name, "--url", url, "--user", admin_email, "--access-key", key, stdout=StringIO()
    )

    assert counts(target) == {"organizations": 2, "contacts": 2, "deals": 1, "comments": 1}
    with tenant_context(target):
        assert registry.get("contacts").records().get(last_name="Lumbergh").title == "VP"
        assert DocumentVersion.objects.count() == 1  # the file is not stored twice
        from crm_apps.access.models import Group, Role

        assert Group.objects.filter(name="Field Team").count() == 1  # a second run adds no duplicate
        assert Role.objects.filter(name="Account Executive").count() == 1


def test_settings_page_runs_the_migration_as_a_job_and_shows_progress(media_root, live_site, pair, localhost_names):
    source, target, key, _colleague = pair
    with tenant_context(source):
        admin_email = Member.objects.select_related("user").get(is_admin=True).user.email
    browser = Client(HTTP_HOST=host_of(target))
    with tenant_context(target):
        sign_in(browser, Member.objects.select_related("user").get(is_admin=True))

    started = browser.post(
        "/settings/vtiger-migration/",
        {"url": f"http://{source.schema_name}.localhost:{live_site}", "username": admin_email, "access_key": key},
    )
    with tenant_context(target):
        run = ImportRun.objects.get()
    page = browser.get(f"/settings/vtiger-migration/{run.pk}/")
    wrong = browser.post(
        "/settings/vtiger-migration/",
        {"url": f"http://{source.schema_name}.localhost:{live_site}", "username": admin_email, "access_key": "wrong"},
    )

    assert started.status_code == 302
    assert run.status == ImportRun.Status.DONE and run.access_key == ""
    assert run.progress["modules"]["Contacts"]["created"] == 2
    assert run.progress["files"] == 1  # the document's file came with the job too
    assert page.status_code == 200 and "Contacts" in page.content.decode()
    assert wrong.status_code == 302
    with tenant_context(target):
        failed = ImportRun.objects.order_by("-pk")[0]
        assert failed.status == ImportRun.Status.FAILED and "INVALID_USER_CREDENTIALS" in failed.error
    assert counts(target)["contacts"] == 2


def test_members_who_are_not_admins_cannot_start_a_migration(pair, client_for):
    _source, target, _key, _colleague = pair
    browser = Client(HTTP_HOST=host_of(target))
    with tenant_context(target):
        from crm_apps.access.services import member_create

        rep = member_create(tenant=target, user=make_user(name="Rep"))
        sign_in(browser, rep)

    assert browser.get("/settings/vtiger-migration/").status_code == 403
