"""Migration from a vtiger 7/8 database: the fixture (`fixtures/vtiger7/schema.sql`, vtiger's real table shapes,
and its storage directory) is loaded into a throwaway MariaDB database per test and `manage.py vtiger_import
--from-mysql` reads it into a workspace: records with their references, custom fields and picklists, users,
the role tree, profiles, groups with their members, sharing defaults, comments and documents with their files.
A second run changes nothing; another workspace gets its own copy and sees nothing of the first's."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from crm_apps.access.models import Group, Invitation, Profile, ProfileField, ProfileModule, Role, SharingDefault
from crm_apps.engine import registry
from crm_apps.engine.models import Comment
from crm_apps.modules.documents.models import DocumentLink, DocumentVersion
from crm_apps.vtiger.models import ImportedId

FIXTURE = Path(__file__).parent / "fixtures" / "vtiger7"
STORAGE = FIXTURE / "storage"
SERVER = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}


def _connect(**extra: Any) -> Any:
    import pymysql

    return pymysql.connect(**SERVER, charset="utf8mb4", connect_timeout=3, autocommit=True, **extra)


@pytest.fixture(scope="module")
def mariadb() -> Iterator[None]:
    try:
        _connect().close()
    except Exception as exc:  # any failure to reach the server
        if os.environ.get("REQUIRE_MARIADB"):
            pytest.fail(f"MariaDB is not reachable on 127.0.0.1:3306 ({exc}); .ci/run starts it")
        pytest.skip(f"MariaDB is not reachable on 127.0.0.1:3306 ({exc}); the database migration is not tested")
    yield


@pytest.fixture
def vtiger_db(mariadb: None) -> Iterator[tuple[str, Any]]:
    """A fresh database loaded with the fixture: (its DSN, a connection to change it)."""
    name = f"vtfixture_{uuid.uuid4().hex[:12]}"
    server = _connect()
    with server.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    db = _connect(database=name)
    sql = (FIXTURE / "schema.sql").read_text(encoding="utf-8")
    statements = [
        "\n".join(line for line in chunk.splitlines() if not line.startswith("--")).strip()
        for chunk in sql.split(";\n")
    ]
    with db.cursor() as cursor:
        for statement in statements:
            if statement:
                cursor.execute(statement)
    try:
        yield f"mysql://root@127.0.0.1:3306/{name}", db
    finally:
        db.close()
        with server.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        server.close()


def run(tenant: Any, dsn: str, storage: Path = STORAGE) -> str:
    out = StringIO()
    call_command("vtiger_import", tenant.schema_name, "--from-mysql", dsn, "--storage", str(storage), stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, Any]:
    return {
        **{
            k: registry.get(k).records().filter(deleted_at__isnull=True).count()
            for k in ("organizations", "contacts", "deals", "documents")
        },
        "comments": Comment.objects.count(),
        "versions": DocumentVersion.objects.count(),
        "links": DocumentLink.objects.count(),
        "profiles": Profile.objects.count(),
        "roles": Role.objects.count(),
        "groups": Group.objects.count(),
        "invitations": Invitation.objects.count(),
    }


def test_a_vtiger_database_comes_in_with_access_setup_and_files_and_a_second_run_changes_nothing(
    tenant_a, member, media_root, vtiger_db
):
    dsn, _db = vtiger_db
    carl = member(tenant_a, email="carl.colleague@vtiger7.example")

    out = run(tenant_a, dsn)

    with schema_context(tenant_a.schema_name):
        orgs = {o.name: o for o in registry.get("organizations").records().select_related("parent")}
        assert orgs["Initech"].billing_city == "Austin" and orgs["Initech"].shipping_city == "Dallas"
        assert orgs["Initech"].description == "Our oldest customer"
        assert orgs["Initech Austin"].parent == orgs["Initech"]  # a reference to a record of the same module
        assert orgs["Initech Austin"].owner_id == carl.pk  # vtiger's user 5 is this member (same email)
        contacts = {c.last_name: c for c in registry.get("contacts").records().select_related("owner_group")}
        assert set(contacts) == {"Lumbergh", "Gibbons"}  # the deleted one stays behind
        boss, worker = contacts["Lumbergh"], contacts["Gibbons"]
        assert (boss.first_name, boss.email, boss.title, str(boss.birthday)) == (
            "Bill",
            "bill@initech.example",
            "VP",
            "1970-05-04",
        )
        assert boss.organization_id == orgs["Initech"].pk and boss.lead_source == "Trade Show"
        assert sorted(boss.custom_data.values()) == ["Golf", "XL"]  # custom fields cf_851 (text), cf_852 (picklist)
        assert worker.reports_to_id == boss.pk and worker.do_not_call is True
        assert worker.mailing_city == "Санкт-Петербург"
        assert worker.owner_group is not None and worker.owner_group.name == "Team Selling"  # owned by a group
        deal = registry.get("deals").records().get()
        assert (deal.name, deal.organization_id, deal.contact_id, str(deal.close_date)) == (
            "Printers",
            orgs["Initech"].pk,
            boss.pk,
            "2026-06-30",
        )
        assert deal.amount == 12500
        assert "Met at the fair" in Comment.objects.get(record_id=orgs["Initech"].pk).body

        # Documents: the stored files came across into this workspace's storage, checked and linked.
        docs = {d.title: d for d in registry.get("documents").records().select_related("folder")}
        assert set(docs) == {"Price list", "Website", "Contract"}, out
        price = DocumentVersion.objects.get(document=docs["Price list"])
        expected = (STORAGE / "2026/November/week4/140_9f2c1e0d7a3b4c5d6e7f8091a2b3c4d5.txt").read_bytes()
        with default_storage.open(price.storage_name, "rb") as stored:
            assert stored.read() == expected
        assert price.sha256 == hashlib.sha256(expected).hexdigest() and price.size == len(expected)
        assert price.file_name == "price list 2026.txt"
        assert (media_root / tenant_a.schema_name / price.storage_name).is_file()  # the tenant's own storage
        contract = DocumentVersion.objects.get(document=docs["Contract"])
        assert contract.file_name == "contract.txt"  # found by its name (no stored name in that row)
        assert docs["Contract"].folder.name == "Contracts"
        assert not DocumentVersion.objects.filter(document=docs["Website"]).exists()  # an external link
        linked = {(link.module, link.record_id) for link in DocumentLink.objects.filter(document=docs["Price list"])}
        assert linked == {("organizations", orgs["Initech"].pk), ("contacts", boss.pk)}
        assert DocumentLink.objects.get(document=docs["Contract"]).record_id == deal.pk

        # Users, roles, profiles, groups, sharing.
        assert Invitation.objects.get(email="ada.admin@vtiger7.example").is_admin
        assert not Invitation.objects.filter(email="ivan.inactive@vtiger7.example").exists()
        engineer = Role.objects.get(name="Field Engineer")
        assert engineer.parent is not None and engineer.parent.name == "Sales Manager"  # under its vtiger parent
        assert sorted(p.name for p in engineer.profiles.all()) == ["Guest Profile", "Support Profile"]
        assert Invitation.objects.get(email="fiona.field@vtiger7.example").role == engineer
        assert Role.objects.filter(name="Sales Person").count() == 1  # matched by name, not duplicated
        sales = Profile.objects.get(name="Sales Profile")
        assert (sales.view_all, sales.edit_all, sales.can_import, sales.can_export) == (False, False, False, True)
        contacts_rights = ProfileModule.objects.get(profile=sales, module="contacts")
        assert (contacts_rights.can_view, contacts_rights.can_create, contacts_rights.can_edit) == (True, True, True)
        assert contacts_rights.can_delete is False
        fields = dict(ProfileField.objects.filter(profile=sales, module="contacts").values_list("field", "access"))
        assert fields == {"birthday": "hidden", "email": "readonly"}
        support = Profile.objects.get(name="Support Profile")
        assert ProfileModule.objects.get(profile=support, module="deals").can_view is False
        guest = Profile.objects.get(name="Guest Profile")
        assert ProfileModule.objects.get(profile=guest, module="organizations").can_edit is False
        admin_profile = Profile.objects.get(name="Administrator")
        assert not ProfileModule.objects.filter(profile=admin_profile).exists()  # an existing profile is kept
        team = Group.objects.get(name="Team Selling")
        assert list(team.members.values_list("pk", flat=True)) == [carl.pk]  # ada is only invited yet
        marketing = Group.objects.get(name="Marketing Group")
        assert [r.name for r in marketing.roles.all()] == ["Sales Manager"]
        assert [r.name for r in marketing.roles_with_subordinates.all()] == ["Vice President"]
        assert [g.name for g in marketing.subgroups.all()] == ["Support Group"]
        assert SharingDefault.objects.get(module="deals").access == "private"
        assert SharingDefault.objects.get(module="documents").access == "public_read_write"
        first = snapshot()
        assert first["versions"] == 2 and first["links"] == 3
    assert "Documents 7x131: an external link" in out
    assert "files: 2 (87 bytes)" in out

    again = run(tenant_a, dsn)

    with schema_context(tenant_a.schema_name):
        assert snapshot() == first
        assert list(Group.objects.get(name="Team Selling").members.values_list("pk", flat=True)) == [carl.pk]
    assert "files: 0 (0 bytes)" in again
    assert "Contacts: read 2, created 0, updated 0, unchanged 2, failed 0" in again


def test_another_workspace_gets_its_own_copy_and_sees_nothing_of_the_first(tenant_a, tenant_b, media_root, vtiger_db):
    dsn, _db = vtiger_db
    run(tenant_a, dsn)
    with schema_context(tenant_a.schema_name):
        first = snapshot()
        a_versions = set(DocumentVersion.objects.values_list("storage_name", flat=True))

    run(tenant_b, dsn)

    with schema_context(tenant_b.schema_name):
        assert snapshot()["contacts"] == 2 and snapshot()["versions"] == 2  # created here, not "unchanged"
        assert ImportedId.objects.filter(module_key="contacts").count() == 2
        for version in DocumentVersion.objects.all():
            assert (media_root / tenant_b.schema_name / version.storage_name).is_file()
            assert not (media_root / tenant_a.schema_name / version.storage_name).exists()
    with schema_context(tenant_a.schema_name):
        assert snapshot() == first
        assert set(DocumentVersion.objects.values_list("storage_name", flat=True)) == a_versions


def test_files_that_do_not_match_or_leave_the_storage_directory_are_reported_not_imported(
    tenant_a, media_root, vtiger_db
):
    dsn, db = vtiger_db
    with db.cursor() as cursor:
        cursor.execute("UPDATE vtiger_notes SET filesize = 999 WHERE notesid = 130")  # the file has 46 bytes
        cursor.execute("UPDATE vtiger_attachments SET path = 'storage/../../' WHERE attachmentsid = 141")

    out = run(tenant_a, dsn)

    with schema_context(tenant_a.schema_name):
        assert DocumentVersion.objects.count() == 0
        assert registry.get("documents").records().count() == 3  # the records came; their files did not
    assert "Documents 7x130: the file has 46 bytes, the source says 999; not imported." in out
    assert "Documents 7x132: file not read (attachment 141: its path leaves the storage directory)." in out


def test_bad_sources_are_refused_with_a_message(tenant_a, mariadb):
    with pytest.raises(CommandError, match="mysql://user"):
        call_command("vtiger_import", tenant_a.schema_name, "--from-mysql", "postgres://x/y", stdout=StringIO())
    with pytest.raises(CommandError, match="could not connect"):
        call_command(
            "vtiger_import",
            tenant_a.schema_name,
            "--from-mysql",
            "mysql://root@127.0.0.1:3306/no_such_db",
            stdout=StringIO(),
        )
    with pytest.raises(CommandError, match="port"):
        call_command(
            "vtiger_import", tenant_a.schema_name, "--from-mysql", "mysql://root@127.0.0.1:99999/x", stdout=StringIO()
        )
    with pytest.raises(CommandError, match="not both"):
        call_command(
            "vtiger_import",
            tenant_a.schema_name,
            "--from-mysql",
            "mysql://root@127.0.0.1/x",
            "--url",
            "https://a",
            stdout=StringIO(),
        )
    with schema_context(tenant_a.schema_name):
        assert not ImportedId.objects.exists()
