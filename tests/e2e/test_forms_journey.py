"""Forms in the browser: a draft restored after a reload, a contact whose organisation is chosen with
the searchable picker and then created from it, a standard and a custom field dragged into another block
in the layout editor, and a colleague mentioned by typing "@al" and picking her from the suggestions."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import tenant_context

from conftest import TEST_PASSWORD, make_user
from crm_apps.access.services import member_create
from crm_apps.engine import registry
from crm_apps.engine.models import Comment, LayoutOverride
from crm_apps.engine.services import custom_field_create, record_create
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_picker_quick_create_layout_drag_and_mention(live_site, browser, committed):
    admin = make_user(committed.email(), name="Olga Owner")
    colleague = make_user(committed.email(), name="Alice Archer")
    tenant = tenant_provision(slug=committed.slug("forms"), name="Forms Co", admin=admin)
    with tenant_context(tenant):
        alice = member_create(tenant=tenant, user=colleague)
        owner = alice.__class__.objects.get(user=admin)
        record_create(spec=registry.get("organizations"), actor=owner, data={"name": "Initech", "phone": "+1 555 0110"})
        custom_field_create(actor=owner, spec=registry.get("contacts"), key="vip_code", label="VIP code", type="text")
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    page = browser.new_page()
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")

    # A draft: what was typed survives a reload until it is restored or discarded.
    page.goto(base + "/m/organizations/new/")
    page.locator("#id_name").fill("Draft Corp")
    page.wait_for_timeout(700)  # drafts are written 400 ms after the last keystroke
    page.reload()
    page.get_by_role("button", name="Restore them").click()
    assert page.locator("#id_name").input_value() == "Draft Corp"
    assert page.locator("[data-draft-prompt]").is_hidden()

    # A contact: the organisation picker searches as one types and shows a second line.
    page.goto(base + "/m/contacts/new/")
    page.get_by_role("button", name="Save").click()  # nothing filled in: the first error gets the focus
    page.wait_for_load_state()
    # The click only starts the form's POST (and the focus moves after the answer page has loaded): wait for it.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'id_last_name'")
    assert page.evaluate("document.activeElement.id") == "id_last_name"
    assert page.locator("#id_last_name_error").inner_text() == "This field is required."
    page.locator("#id_last_name").fill("Lumbergh")
    picker = page.locator("#id_organization + .ts-wrapper .ts-control")
    picker.click()
    page.keyboard.type("Init", delay=50)
    option = page.locator(".ts-dropdown .option", has_text="Initech")
    option.wait_for()
    assert "+1 555 0110" in option.inner_text()
    option.click()
    assert page.locator("#id_organization").input_value() != ""

    # ... and "create new" opens the organisation's quick-create form, whose record is then chosen.
    page.locator("#id_organization-ts-control").focus()  # back into the picker (Tab from the last name)
    page.keyboard.type("Vandelay Industries", delay=20)
    page.locator(".ts-dropdown .create", has_text="Vandelay Industries").click()
    dialog = page.locator("dialog.quick-create-dialog")
    dialog.wait_for()
    assert dialog.locator("#id_name").input_value() == "Vandelay Industries"
    dialog.get_by_role("button", name="Create Organisation").click()
    dialog.wait_for(state="detached")
    assert "Vandelay Industries" in page.locator("#id_organization + .ts-wrapper .item").inner_text()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r".*/m/contacts/[0-9a-f-]+/$"))
    contact_url = page.url
    with tenant_context(tenant):
        contact = registry.get("contacts").model.objects.select_related("organization").get(last_name="Lumbergh")
        assert contact.organization.name == "Vandelay Industries"

    # The layout editor: drag "Department" into the mailing address block; the preview follows.
    page.set_viewport_size({"width": 1280, "height": 4000})  # source and target on screen at once
    page.goto(base + "/settings/modules/contacts/layout/")
    # (grabbed by its name: the buttons and the select in the row are not drag handles)
    page.locator('li[data-field="department"] .layout-field__name').drag_to(
        page.locator('ul[data-block-fields="mailing"] li[data-field="mailing_city"]')
    )
    page.locator("[data-layout-status]", has_text="Department moved to Mailing address.").wait_for()
    preview_block = page.locator('fieldset[data-preview-block="mailing"]')
    assert preview_block.locator('[data-preview-field="department"]').count() == 1
    # A custom field starts in "More fields" and moves like a standard one.
    page.locator('li[data-field="custom.vip_code"] .layout-field__name').drag_to(
        page.locator('ul[data-block-fields="mailing"] li[data-field="mailing_city"]')
    )
    page.locator("[data-layout-status]", has_text="VIP code moved to Mailing address.").wait_for()
    assert preview_block.locator('[data-preview-field="custom.vip_code"]').count() == 1
    page.get_by_role("button", name="Save layout").first.click()
    page.locator("[data-layout-status]", has_text="Layout saved.").wait_for()
    with tenant_context(tenant):
        layout = LayoutOverride.objects.get(module="contacts").layout
    mailing = next(b for b in layout["blocks"] if b["key"] == "mailing")
    assert "department" in mailing["fields"] and "custom.vip_code" in mailing["fields"]

    # A mention: "@al" lists Alice; Enter picks her; the comment shows her as a link.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(contact_url)
    box = page.locator("#comment-body")
    box.click()
    box.press_sequentially("Please call them @al", delay=50)
    suggestion = page.get_by_role("option", name=re.compile("Alice Archer"))
    suggestion.wait_for()
    assert box.get_attribute("aria-activedescendant") == "comment-body-mentions-0"
    page.keyboard.press("Enter")
    assert box.input_value() == f"Please call them @[Alice Archer](member:{alice.pk}) "
    page.get_by_role("button", name="Comment").click()
    page.wait_for_url(re.compile(r".*#comments$"))
    assert page.locator("a.mention", has_text="@Alice Archer").count() == 1
    with tenant_context(tenant):
        assert list(Comment.objects.get().mentions.values_list("pk", flat=True)) == [alice.pk]
