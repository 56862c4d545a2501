"""Per-tenant backup and restore (tenants/backup.py) on committed data: real PostgreSQL, pg_dump,
pg_restore and psql, real files under a temporary MEDIA_ROOT, Celery eager (as in every test)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from billing.models import Subscription
from conftest import host_of, make_user, sign_in
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.services import custom_field_create, record_create
from tenants import backup
from tenants.backup import BackupRefused, table_figures, tenant_backup_write, tenant_restore_run
from tenants.models import BackupStatus, Domain, Tenant, TenantBackup, User, WorkspaceMembership
from tenants.runtime import use_public_schema
from tenants.services import tenant_delete, tenant_provision


def figures(schema: str) -> dict[str, dict[str, Any]]:
    with backup._raw_connection() as conn, conn.cursor() as cursor:
        return table_figures(cursor, schema)


def schemas(prefix: str) -> set[str]:
    use_public_schema()
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", [prefix + "%"])
        return {row[0] for row in cursor.fetchall()}


def media_files(root: Path, schema: str) -> dict[str, bytes]:
    base = root / schema
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*") if p.is_file()}


class World:
    def __init__(self, committed: Any, media: Path, backups: Path) -> None:
        self.committed = committed
        self.media = media
        self.backups = backups

    def tenant(self, marker: str) -> tuple[Tenant, Member]:
        """A provisioned tenant with records in four modules, a custom field and two files."""
        slug = self.committed.slug("bk")
        admin = make_user(self.committed.email(), name=f"Admin {marker}")
        tenant = tenant_provision(slug=slug, name=f"Org {marker}", admin=admin)
        with schema_context(slug):
            actor = Member.objects.select_related("user").get(user=admin)
            contacts = registry.get("contacts")
            custom_field_create(actor=actor, spec=contacts, key="shoe_size", label="Shoe size", type="integer")
            org = record_create(
                spec=registry.get("organizations"), actor=actor, data={"name": f"{marker} Holdings", "owner": actor.pk}
            )
            for i in range(3):
                record_create(
                    spec=contacts,
                    actor=actor,
                    data={"first_name": f"{marker}{i}", "last_name": "Person", "owner": actor.pk},
                    custom={"shoe_size": 40 + i},
                )
            record_create(spec=registry.get("leads"), actor=actor, data={**registry.get("leads").example})
            record_create(
                spec=registry.get("deals"),
                actor=actor,
                data={**registry.get("deals").example, "name": f"{marker} deal", "organization": org.pk},
            )
            default_storage.save("documents/contract.txt", ContentFile(f"contract of {marker}".encode()))
            default_storage.save("avatars/logo.bin", ContentFile(bytes(range(256)) * 10))
        use_public_schema()
        return tenant, actor


@pytest.fixture
def world(media_root: Path, tmp_path_factory: Any, settings: Any, committed: Any) -> Any:
    backups = tmp_path_factory.mktemp("backups")
    settings.TENANT_BACKUP_ROOT = str(backups)
    before = schemas("replaced_") | schemas("restore_")
    jobs_before = set(TenantBackup.objects.values_list("pk", flat=True))
    yield World(committed, media_root, backups)
    use_public_schema()
    TenantBackup.objects.exclude(pk__in=jobs_before).delete()
    with connection.cursor() as cursor:
        for name in (schemas("replaced_") | schemas("restore_")) - before:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def archive_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def archive_rewrite(path: Path, target: Path, change: Any, *, resign: bool) -> None:
    """Copy an archive, letting `change(members)` edit its members; re-sign the manifest when asked
    (what a bug or a corrupted dump with an intact signature would look like)."""
    members = archive_members(path)
    change(members)
    if resign:
        members[backup.SIGNATURE] = backup._sign(members[backup.MANIFEST])
    with tarfile.open(target, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def manifest_edit(edit: Any) -> Any:
    def change(members: dict[str, bytes]) -> None:
        manifest = json.loads(members[backup.MANIFEST])
        edit(manifest)
        members[backup.MANIFEST] = json.dumps(manifest).encode()

    return change


def nothing_changed_since(world: World, tenants_before: set[str], media_before: set[str]) -> None:
    assert set(Tenant.objects.values_list("schema_name", flat=True)) == tenants_before
    assert schemas("restore_") == set()
    assert {p.name for p in world.media.iterdir()} == media_before


def test_round_trip_as_new_tenant_has_identical_counts_checksums_and_files(world):
    source, _actor = world.tenant("Zeta")
    before = figures(source.schema_name)
    archive = world.backups / "zeta.tar.gz"

    result = tenant_backup_write(tenant=source, output=archive)
    slug = world.committed.slug("copy")
    restored = tenant_restore_run(path=archive, as_new=slug)

    assert restored.tenant.schema_name == slug
    assert restored.replaced_schema is None
    assert not restored.migrated
    copy = figures(slug)
    assert copy == before  # every table: same rows, same checksum
    assert {t: f["rows"] for t, f in result.manifest["tables"].items()} == {t: f["rows"] for t, f in before.items()}
    assert before["contacts_contact"]["rows"] == 3
    assert before["engine_customfield"]["rows"] >= 1
    assert before["deals_deal"]["rows"] == 1 and before["leads_lead"]["rows"] == 1
    assert media_files(world.media, slug) == media_files(world.media, source.schema_name)
    assert len(media_files(world.media, slug)) == 2
    assert figures(source.schema_name) == before  # the source is untouched
    # public rows: the copy's own domain, directory and a fresh trial; the same people as members
    new = Tenant.objects.get(schema_name=slug)
    assert new.name == "Org Zeta"
    assert [d.domain for d in new.domains.all()] == [f"{slug}.localhost"]
    assert set(WorkspaceMembership.objects.filter(tenant=new).values_list("user_id", flat=True)) == set(
        WorkspaceMembership.objects.filter(tenant=source).values_list("user_id", flat=True)
    )
    assert Subscription.objects.filter(tenant=new, status="trialing").count() == 1


def test_restored_copy_serves_its_own_records_and_custom_fields(world):
    source, actor = world.tenant("Eta")
    archive = world.backups / "eta.tar.gz"
    tenant_backup_write(tenant=source, output=archive)
    slug = world.committed.slug("copy")
    new = tenant_restore_run(path=archive, as_new=slug).tenant

    client = Client(HTTP_HOST=host_of(new))
    with schema_context(slug):
        sign_in(client, Member.objects.select_related("user").get(user=actor.user))
    page = client.get("/m/contacts/")
    api = client.get("/api/v1/contacts/")

    assert page.status_code == 200
    assert "Eta0" in page.content.decode()
    assert api.status_code == 200
    shoe_sizes = sorted(r["custom"]["shoe_size"] for r in api.json()["results"])
    assert shoe_sizes == [40, 41, 42]
    # the source's session and host do not open the copy, and the copy's records are not the source's
    with schema_context(slug):
        record_create(
            spec=registry.get("contacts"), actor=Member.objects.get(user=actor.user), data={"last_name": "OnlyInCopy"}
        )
    with schema_context(source.schema_name):
        assert not registry.get("contacts").model.objects.filter(last_name="OnlyInCopy").exists()


def test_overwrite_brings_back_the_backed_up_state_and_keeps_the_replaced_schema(world):
    tenant_b = Tenant.objects.get(schema_name="beta")  # (the `tenant_b` fixture would open a transaction)
    source, actor = world.tenant("Theta")
    archive = world.backups / "theta.tar.gz"
    tenant_backup_write(tenant=source, output=archive)
    backed_up = figures(source.schema_name)
    beta_before = figures(tenant_b.schema_name)
    with schema_context(source.schema_name):
        record_create(spec=registry.get("contacts"), actor=actor, data={"last_name": "After backup"})
        default_storage.save("documents/later.txt", ContentFile(b"written after the backup"))
    use_public_schema()

    result = tenant_restore_run(path=archive, overwrite=True)

    assert result.tenant.pk == source.pk
    assert figures(source.schema_name) == backed_up
    assert "later.txt" not in str(media_files(world.media, source.schema_name))
    assert result.replaced_schema and result.replaced_schema.startswith("replaced_")
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{result.replaced_schema}".contacts_contact')
        assert cursor.fetchone()[0] == 4  # the replaced data is kept
    assert (world.media / result.replaced_schema / "documents" / "later.txt").exists()
    assert figures(tenant_b.schema_name) == beta_before  # another tenant is never touched
    assert Tenant.objects.get(pk=source.pk).status == "active"


def test_backup_of_a_contains_nothing_of_b(world):
    tenant_a, _ = world.tenant("Aardvark")
    tenant_b, _ = world.tenant("Bumblebee")
    # a link in A's folder pointing at B's files must not carry B's file into A's archive
    (world.media / tenant_a.schema_name / "link-to-b").symlink_to(world.media / tenant_b.schema_name)
    archive = world.backups / "a.tar.gz"

    manifest = tenant_backup_write(tenant=tenant_a, output=archive).manifest
    members = archive_members(archive)
    dump = world.backups / "a.dump"
    dump.write_bytes(members[backup.DUMP])
    sql = backup.subprocess.run(
        [backup.pg_program("pg_restore"), "--file=-", str(dump)], capture_output=True, check=True
    ).stdout

    assert b"Aardvark0" in sql
    assert b"Bumblebee" not in sql
    assert tenant_b.schema_name.encode() not in sql
    assert all(b"Bumblebee" not in data for data in members.values())
    public = json.loads(members[backup.PUBLIC])
    assert public["tenant"]["schema_name"] == tenant_a.schema_name
    assert [d["domain"] for d in public["domains"]] == [f"{tenant_a.schema_name}.localhost"]
    assert {u["name"] for u in public["users"]} == {"Admin Aardvark"}
    assert sorted(n for n in members if n.startswith("files/")) == [
        "files/avatars/logo.bin",
        "files/documents/contract.txt",
    ]
    assert manifest["files"]["count"] == 2


def test_tampered_archive_is_refused_and_changes_nothing(world):
    source, _ = world.tenant("Iota")
    archive = world.backups / "iota.tar.gz"
    tenant_backup_write(tenant=source, output=archive)
    tenants_before = set(Tenant.objects.values_list("schema_name", flat=True))
    media_before = {p.name for p in world.media.iterdir()}
    tampered = world.backups / "tampered.tar.gz"

    def more_rows(manifest: dict[str, Any]) -> None:
        manifest["tables"]["contacts_contact"]["rows"] = 2

    archive_rewrite(archive, tampered, manifest_edit(more_rows), resign=False)
    with pytest.raises(BackupRefused, match="signature is not valid"):
        tenant_restore_run(path=tampered, as_new=world.committed.slug("copy"))

    def swap_file(members: dict[str, bytes]) -> None:
        members["files/documents/contract.txt"] = b"contract of Mallory"

    archive_rewrite(archive, tampered, swap_file, resign=False)
    with pytest.raises(BackupRefused, match="does not match its manifest"):
        tenant_restore_run(path=tampered, as_new=world.committed.slug("copy"))

    nothing_changed_since(world, tenants_before, media_before)


def test_damaged_archive_is_refused_with_a_clear_message(world):
    source, _ = world.tenant("Kappa")
    archive = world.backups / "kappa.tar.gz"
    tenant_backup_write(tenant=source, output=archive)
    tenants_before = set(Tenant.objects.values_list("schema_name", flat=True))
    media_before = {p.name for p in world.media.iterdir()}
    data = bytearray(archive.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 16] = b"\x00" * 16
    damaged = world.backups / "damaged.tar.gz"
    damaged.write_bytes(bytes(data))
    not_an_archive = world.backups / "notes.tar.gz"
    not_an_archive.write_text("hello")

    with pytest.raises(BackupRefused, match=r"damaged or is not a workspace backup|do not match its manifest"):
        tenant_restore_run(path=damaged, as_new=world.committed.slug("copy"))
    with pytest.raises(BackupRefused, match="damaged or is not a workspace backup"):
        tenant_restore_run(path=not_an_archive, as_new=world.committed.slug("copy"))

    nothing_changed_since(world, tenants_before, media_before)


def test_signed_archive_whose_rows_differ_from_its_manifest_is_rolled_back(world):
    """A dump that does not hold what the manifest says (e.g. written by a faulty program) is restored
    into the temporary schema, found different, and dropped: no tenant, no schema, no files."""
    source, _ = world.tenant("Lambda")
    archive = world.backups / "lambda.tar.gz"
    tenant_backup_write(tenant=source, output=archive)
    tenants_before = set(Tenant.objects.values_list("schema_name", flat=True))
    media_before = {p.name for p in world.media.iterdir()}
    wrong = world.backups / "wrong.tar.gz"

    def fewer(manifest: dict[str, Any]) -> None:
        manifest["tables"]["contacts_contact"]["rows"] = 2

    def other_checksum(manifest: dict[str, Any]) -> None:
        manifest["tables"]["deals_deal"]["checksum"] = hashlib.md5(b"x").hexdigest()

    archive_rewrite(archive, wrong, manifest_edit(fewer), resign=True)
    with pytest.raises(
        BackupRefused, match="contacts_contact has 3 rows after the restore; the archive's manifest says 2"
    ):
        tenant_restore_run(path=wrong, as_new=world.committed.slug("copy"))
    archive_rewrite(archive, wrong, manifest_edit(other_checksum), resign=True)
    with pytest.raises(BackupRefused, match="rows of table deals_deal differ"):
        tenant_restore_run(path=wrong, overwrite=True)

    nothing_changed_since(world, tenants_before, media_before)
    assert schemas("replaced_") == set()


def test_overwrite_refuses_a_tenant_that_only_shares_the_name(world):
    """Tenant deleted, its subdomain taken by another organisation: its old archive must not replace them."""
    source, _ = world.tenant("Upsilon")
    archive = world.backups / "upsilon.tar.gz"
    tenant_backup_write(tenant=source, output=archive)
    slug = source.schema_name
    tenant_delete(tenant=source, drop_schema=True)
    newcomer, _ = world.tenant("Newcomer")
    Tenant.objects.filter(pk=newcomer.pk).update(schema_name=slug)
    Domain.objects.filter(tenant_id=newcomer.pk).update(domain=f"{slug}.localhost")
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER SCHEMA "{newcomer.schema_name}" RENAME TO "{slug}"')
    before = figures(slug)

    with pytest.raises(BackupRefused, match="not the one this archive was made from"):
        tenant_restore_run(path=archive, overwrite=True)

    assert figures(slug) == before
    assert schemas("restore_") == set()
    assert schemas("replaced_") == set()


def test_archive_of_newer_migrations_is_refused(world):
    source, _ = world.tenant("Mu")
    archive = world.backups / "mu.tar.gz"
    tenant_backup_write(tenant=source, output=archive)
    newer = world.backups / "newer.tar.gz"
    archive_rewrite(
        archive, newer, manifest_edit(lambda m: m["migrations"].append("contacts.9999_future")), resign=True
    )

    with pytest.raises(BackupRefused, match=r"newer version.*contacts\.9999_future"):
        tenant_restore_run(path=newer, as_new=world.committed.slug("copy"))
    assert schemas("restore_") == set()


def test_archive_of_older_migrations_is_migrated_after_the_restore(world):
    source, _ = world.tenant("Nu")
    call_command("migrate_schemas", "audit", "0001", schema_name=source.schema_name, interactive=False, verbosity=0)
    use_public_schema()
    archive = world.backups / "nu.tar.gz"
    manifest = tenant_backup_write(tenant=source, output=archive).manifest
    assert "audit.0002_append_only" not in manifest["migrations"]
    slug = world.committed.slug("copy")

    from django.db.migrations.loader import MigrationLoader

    audit_migrations_in_code = {name for app, name in MigrationLoader(None).disk_migrations if app == "audit"}

    result = tenant_restore_run(path=archive, as_new=slug)

    assert result.migrated
    assert {"0001_initial", "0002_append_only"} < audit_migrations_in_code
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT name FROM "{slug}".django_migrations WHERE app = %s', ["audit"])
        assert {r[0] for r in cursor.fetchall()} == audit_migrations_in_code
        cursor.execute(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = 'audit_auditevent' AND NOT t.tgisinternal",
            [slug],
        )
        assert cursor.fetchone()[0] == 3


def test_restore_as_new_refuses_a_taken_or_invalid_subdomain(world):
    source, _ = world.tenant("Xi")
    archive = world.backups / "xi.tar.gz"
    tenant_backup_write(tenant=source, output=archive)
    tenants_before = set(Tenant.objects.values_list("schema_name", flat=True))
    media_before = {p.name for p in world.media.iterdir()}

    with pytest.raises(BackupRefused, match="already taken"):
        tenant_restore_run(path=archive, as_new="alpha")
    with pytest.raises(BackupRefused, match="already taken"):
        tenant_restore_run(path=archive, as_new=source.schema_name)
    with pytest.raises(BackupRefused):
        tenant_restore_run(path=archive, as_new="Not_Valid!")

    nothing_changed_since(world, tenants_before, media_before)


def test_restore_recreates_a_missing_user_and_relinks_the_member(world, member):
    source, _actor = world.tenant("Omicron")
    email = world.committed.email()
    colleague = member(source, email=email)
    old_id = colleague.user_id
    archive = world.backups / "omicron.tar.gz"
    tenant_backup_write(tenant=source, output=archive)
    # the colleague's account is gone (as on another installation, where users have other ids)
    User.objects.filter(pk=old_id).delete()
    slug = world.committed.slug("copy")

    result = tenant_restore_run(path=archive, as_new=slug)

    recreated = User.objects.get(email=email)
    assert recreated.pk != old_id
    assert not recreated.has_usable_password()  # they choose one with "Forgot your password?"
    with schema_context(slug):
        assert Member.objects.filter(user_id=recreated.pk).count() == 1
        assert not Member.objects.filter(user_id=old_id).exists()
    assert result.tenant.memberships.filter(user_id=recreated.pk, is_active=True).exists()


# --- Commands -------------------------------------------------------------------------------------


def test_commands_back_up_and_restore_with_an_operator_log(world, capsys):
    source, _ = world.tenant("Pi")
    output = world.backups / "pi.tar.gz"

    call_command("tenant_backup", source.schema_name, "--output", str(output), "--reason", "before migration")
    slug = world.committed.slug("copy")
    call_command("tenant_restore", str(output), "--as-new", slug, "--reason", "customer asked for a copy")

    out = capsys.readouterr().out
    assert f"Backed up {source.schema_name}" in out
    assert f"Restored {source.schema_name} as {slug}" in out
    jobs = list(TenantBackup.objects.filter(schema_name__in=[source.schema_name, slug]).order_by("created_at"))
    assert [(j.kind, j.status, j.reason) for j in jobs] == [
        ("backup", "done", "before migration"),
        ("restore_new", "done", "customer asked for a copy"),
    ]
    assert jobs[0].operator_label.startswith("manage.py")
    assert jobs[1].tenant is not None and jobs[1].tenant.schema_name == slug
    with pytest.raises(CommandError, match="already taken"):
        call_command("tenant_restore", str(output), "--as-new", slug)
    with pytest.raises(CommandError, match="No tenant"):
        call_command("tenant_backup", "no-such-tenant")


# --- Operator console -----------------------------------------------------------------------------


@pytest.fixture
def operator(world):
    user = make_user(world.committed.email())
    user.is_staff = True
    user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def staff_without_permission(world):
    user = make_user(world.committed.email())
    user.is_staff = True
    user.save()
    return user


def test_operator_backs_up_from_the_tenant_list_and_downloads_the_archive(world, operator):
    source, _ = world.tenant("Rho")
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)

    action = client.post("/admin/tenants/tenant/", {"action": "back_up", "_selected_action": [source.pk], "index": "0"})
    assert action.status_code == 302 and f"tenants={source.pk}" in action["Location"]
    form = client.get(action["Location"])
    assert form.status_code == 200 and 'name="reason"' in form.content.decode()
    missing_reason = client.post("/admin/tenants/tenantbackup/backup/", {"tenants": [source.pk], "reason": ""})
    assert (
        missing_reason.status_code == 200 and not TenantBackup.objects.filter(schema_name=source.schema_name).exists()
    )
    started = client.post("/admin/tenants/tenantbackup/backup/", {"tenants": [source.pk], "reason": "support case 42"})

    assert started.status_code == 302
    job = TenantBackup.objects.get(schema_name=source.schema_name)
    assert (job.status, job.progress, job.operator_id, job.reason) == ("done", 100, operator.pk, "support case 42")
    assert job.archive.startswith("archives/") and not str(world.backups / job.archive).startswith(str(world.media))
    listing = client.get("/admin/tenants/tenantbackup/")
    assert listing.status_code == 200 and f"/admin/tenants/tenantbackup/{job.pk}/download/" in listing.content.decode()
    detail = client.get(f"/admin/tenants/tenantbackup/{job.pk}/change/")
    assert detail.status_code == 200 and "support case 42" in detail.content.decode()
    download = client.get(f"/admin/tenants/tenantbackup/{job.pk}/download/")
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    body = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert hashlib.sha256(body).hexdigest() == job.sha256
    job.refresh_from_db()
    assert [d["by"] for d in job.details["downloads"]] == [operator.email]


def test_operator_restores_an_uploaded_archive_as_a_new_workspace(world, operator):
    source, _ = world.tenant("Sigma")
    archive = world.backups / "sigma.tar.gz"
    tenant_backup_write(tenant=source, output=archive)
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    slug = world.committed.slug("copy")

    with archive.open("rb") as fh:
        response = client.post(
            "/admin/tenants/tenantbackup/restore/", {"archive": fh, "subdomain": slug, "reason": "ticket 7"}
        )

    assert response.status_code == 302
    job = TenantBackup.objects.get(kind="restore_new", reason="ticket 7")
    assert (job.status, job.schema_name, job.operator_id) == ("done", slug, operator.pk)
    assert figures(slug) == figures(source.schema_name)
    assert not (world.media / "uploads").exists()  # uploads are kept outside MEDIA_ROOT
    assert job.archive.startswith("uploads/")


def test_operator_upload_of_a_bad_archive_fails_the_job_and_creates_nothing(world, operator):
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    tenants_before = set(Tenant.objects.values_list("schema_name", flat=True))
    slug = world.committed.slug("copy")

    response = client.post(
        "/admin/tenants/tenantbackup/restore/",
        {"archive": ContentFile(b"not an archive", name="x.tar.gz"), "subdomain": slug, "reason": "test"},
    )
    taken = client.post(
        "/admin/tenants/tenantbackup/restore/",
        {"archive": ContentFile(b"x", name="x.tar.gz"), "subdomain": "alpha", "reason": "test"},
    )

    assert response.status_code == 302
    job = TenantBackup.objects.get(reason="test")
    assert job.status == BackupStatus.FAILED
    assert "damaged or is not a workspace backup" in job.error
    assert taken.status_code == 200 and "already taken" in taken.content.decode()
    assert set(Tenant.objects.values_list("schema_name", flat=True)) == tenants_before


def test_console_refuses_people_without_the_permission(world, staff_without_permission, operator):
    tenant_a = Tenant.objects.get(schema_name="alpha")
    source, _ = world.tenant("Tau")
    done = TenantBackup.objects.create(kind="backup", tenant=source, schema_name=source.schema_name, status="done")
    output = world.backups / "archives" / "tau.tar.gz"
    tenant_backup_write(tenant=source, output=output)
    TenantBackup.objects.filter(pk=done.pk).update(archive="archives/tau.tar.gz")
    staff = Client(HTTP_HOST="localhost")
    staff.force_login(staff_without_permission)
    anonymous = Client(HTTP_HOST="localhost")
    tenant_member = Client(HTTP_HOST=host_of(tenant_a))
    tenant_member.force_login(operator)

    assert staff.get("/admin/tenants/tenantbackup/backup/").status_code == 403
    assert staff.post("/admin/tenants/tenantbackup/backup/", {"tenants": [source.pk], "reason": "x"}).status_code == 403
    assert staff.post("/admin/tenants/tenantbackup/restore/", {"subdomain": "zz-new", "reason": "x"}).status_code == 403
    assert staff.get(f"/admin/tenants/tenantbackup/{done.pk}/download/").status_code == 403
    action = staff.post("/admin/tenants/tenant/", {"action": "back_up", "_selected_action": [source.pk]})
    assert action.status_code == 403  # no view permission on tenants either
    assert anonymous.get(f"/admin/tenants/tenantbackup/{done.pk}/download/").status_code == 302
    assert tenant_member.get(f"/admin/tenants/tenantbackup/{done.pk}/download/").status_code == 404
    assert TenantBackup.objects.filter(schema_name=source.schema_name).count() == 1
    assert set(TenantBackup.objects.get(pk=done.pk).details) == set()  # no download recorded


# --- The schema rename inside pg_restore's SQL ----------------------------------------------------


@pytest.mark.django_db
def test_rewriter_renames_qualified_names_but_never_data_or_function_bodies():
    rewrite = backup._rewriter("t-src", "restore_abc")
    script = [
        "-- Name: contacts_contact; Type: TABLE; Schema: t-src; Owner: -\n",
        'CREATE SCHEMA "t-src";\n',
        'CREATE TABLE "t-src".contacts_contact (\n',
        "SELECT pg_catalog.setval('\"t-src\".contacts_contact_id_seq', 3, true);\n",
        'CREATE FUNCTION "t-src".f() RETURNS trigger AS $$\n',
        'BEGIN PERFORM 1 FROM "t-src".x; END\n',
        "$$;\n",
        'COPY "t-src".contacts_contact (id, note) FROM stdin;\n',
        '1\tsee "t-src".contacts_contact and $$\n',
        "\\.\n",
        'ALTER TABLE ONLY "t-src".a ADD CONSTRAINT c FOREIGN KEY (b) REFERENCES "t-src".b(id);\n',
    ]

    out = [rewrite(line) for line in script]

    assert out == [
        script[0],
        'CREATE SCHEMA "restore_abc";\n',
        'CREATE TABLE "restore_abc".contacts_contact (\n',
        "SELECT pg_catalog.setval('\"restore_abc\".contacts_contact_id_seq', 3, true);\n",
        'CREATE FUNCTION "restore_abc".f() RETURNS trigger AS $$\n',
        script[5],  # a body is left alone (the structure check refuses a body naming its schema)
        "$$;\n",
        'COPY "restore_abc".contacts_contact (id, note) FROM stdin;\n',
        script[8],  # row data is never touched
        "\\.\n",
        'ALTER TABLE ONLY "restore_abc".a ADD CONSTRAINT c FOREIGN KEY (b) REFERENCES "restore_abc".b(id);\n',
    ]
    plain = backup._rewriter("acme", "restore_abc")
    assert plain("CREATE SCHEMA acme;\n") == 'CREATE SCHEMA "restore_abc";\n'
    assert plain("CREATE INDEX i ON acme.t USING btree (acme_id);\n") == (
        'CREATE INDEX i ON "restore_abc".t USING btree (acme_id);\n'
    )
