"""An operator backs a workspace up from the admin, downloads the archive and restores it as a new workspace."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django_tenants.utils import schema_context

from conftest import TEST_PASSWORD, make_user
from tenants.models import Tenant, TenantBackup
from tenants.runtime import use_public_schema
from tenants.services import tenant_provision


def test_operator_backs_up_downloads_and_restores_as_new(live_site, browser, committed, media_root, settings, tmp_path):
    settings.TENANT_BACKUP_ROOT = str(tmp_path / "backups")
    operator = make_user(committed.email(), name="Olga Operator")
    operator.is_staff = operator.is_superuser = True
    operator.save()
    slug = committed.slug("e2e")
    admin = make_user(committed.email(), name="Tenant Admin")
    source = tenant_provision(slug=slug, name="Journey Ltd", admin=admin)
    copy_slug = committed.slug("e2e-copy")
    jobs_before = set(TenantBackup.objects.values_list("pk", flat=True))
    page = browser.new_page(accept_downloads=True)
    base = f"http://localhost:{live_site}"
    try:
        page.goto(f"{base}/admin/login/")
        page.fill("#id_username", operator.email)
        page.fill("#id_password", TEST_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{base}/admin/")  # signed in before leaving the page
        page.goto(f"{base}/admin/tenants/tenant/?q={slug}")

        page.check(f"input[name=_selected_action][value='{source.pk}']")
        page.select_option("select[name=action]", "back_up")
        page.click("button[name=index]")
        assert page.is_checked(f"input[name=tenants][value='{source.pk}']")
        page.get_by_label("Reason").fill("customer asked for an export")
        page.click("input[type=submit][value=Start]")

        page.wait_for_url(f"{base}/admin/tenants/tenantbackup/")
        assert "1 backup queued" in page.content()
        row = page.locator("#result_list tbody tr").first
        assert "Done" in row.inner_text()
        assert row.locator("progress").get_attribute("value") == "100"
        with page.expect_download() as info:
            row.get_by_role("link", name="Download").click()
        archive = Path(tmp_path / "downloaded.tar.gz")
        info.value.save_as(archive)

        page.get_by_role("link", name="Restore a backup as a new workspace").click()
        page.set_input_files("#id_archive", str(archive))
        page.fill("#id_subdomain", copy_slug)
        page.get_by_label("Reason").fill("copy for training")
        page.click("input[type=submit][value=Start]")
        page.wait_for_url(f"{base}/admin/tenants/tenantbackup/")
        restored = page.locator("#result_list tbody tr").first.inner_text().split("\t")
        assert restored[1:4] == ["Restore as a new workspace", copy_slug, "Done"]
    finally:
        page.close()
        use_public_schema()

    backup = TenantBackup.objects.exclude(pk__in=jobs_before).get(kind="backup")
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == backup.sha256
    restore = TenantBackup.objects.exclude(pk__in=jobs_before).get(kind="restore_new")
    assert (restore.status, restore.schema_name, restore.reason) == ("done", copy_slug, "copy for training")
    copy = Tenant.objects.get(schema_name=copy_slug)
    assert copy.name == "Journey Ltd"
    with schema_context(copy_slug):
        from crm_apps.access.models import Member

        assert list(Member.objects.values_list("user_id", flat=True)) == [admin.pk]
    TenantBackup.objects.exclude(pk__in=jobs_before).delete()
