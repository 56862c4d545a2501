"""Import in the browser: from the contacts list, upload a CSV, map a column the guess missed, start it,
watch the progress bar while a real worker runs it, see the summary, then undo the whole import."""

from __future__ import annotations

import re

import pytest

from conftest import TEST_PASSWORD, make_user
from tenants.services import tenant_provision
from tests.integration.test_imports_worker import import_worker, route_to  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_import_a_csv_with_a_mapping_watch_the_progress_and_undo(
    live_site,
    browser,
    committed,
    import_worker,  # noqa: F811
    monkeypatch,
    tmp_path,
):
    queue, _proc = import_worker
    route_to(monkeypatch, queue)
    admin = make_user(committed.email(), name="Ida Import")
    tenant = tenant_provision(slug=committed.slug("imp"), name="Import Co", admin=admin)
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    rows = "\n".join(f"Ann{i},Lee{i},ann{i}@example.com,Buyer" for i in range(2500))
    path = tmp_path / "trade-fair.csv"
    path.write_text(f"First name,Last name,Email,Job\n{rows}\n", encoding="utf-8")

    page = browser.new_page()
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")

    page.goto(base + "/m/contacts/")
    page.get_by_role("link", name="Import", exact=True).click()
    page.get_by_label("File", exact=False).first.set_input_files(str(path))
    page.get_by_role("button", name="Next: columns").click()
    page.wait_for_url(re.compile(r".*/imports/\d+/mapping/"))
    assert page.get_by_label("Field for “Email”").input_value() == "email"
    assert page.get_by_label("Field for “Job”").input_value() == ""  # not guessed: map it by hand
    page.get_by_label("Field for “Job”").select_option("title")
    page.get_by_role("button", name="Import without checking").click()
    page.wait_for_url(re.compile(r".*/imports/\d+/$"))
    progress = page.locator(".import-progress")
    assert progress.is_visible()  # queued or running: the bar is shown while the worker works
    page.locator('[data-count="created"]').wait_for(timeout=120_000)
    assert page.locator('[data-count="created"]').text_content() == "2500"
    assert "Done" in page.locator('[data-import-field="status_label"]').text_content()

    page.get_by_role("button", name="Undo this import").click()
    page.locator("[data-confirm-ok]").click()
    page.wait_for_function(
        "() => document.querySelector('[data-import-field=status_label]').textContent.includes('Undone')",
        timeout=120_000,
    )
    page.goto(base + "/m/contacts/")
    assert page.get_by_text("ann1@example.com").count() == 0
