"""Uninstalling is never one click from a primary button (issue 26): the extension's page offers it as a
danger button behind a confirmation that says what stops, what is hidden and what is kept, and deleting
the data needs the slug typed in."""

from __future__ import annotations

import html
import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_uninstall_button_is_a_danger_button_with_a_confirmation_naming_what_is_kept(
    tenant_a, admin_of, client_for, publish
):
    listing = publish("saas-sales-kit")
    client = client_for(tenant_a, admin_of(tenant_a))
    client.post(f"/settings/marketplace/{listing.slug}/install/")

    page = client.get(f"/settings/marketplace/{listing.slug}/").content.decode()

    form = re.search(r'<form[^>]*class="[^"]*uninstall-form[^"]*".*?</form>', page, re.S)
    assert form, "no uninstall form"
    found = re.search(r"<button[^>]*>", form.group(0))
    assert found, "no uninstall button"
    button = found.group(0)
    assert "button--danger" in button and "button--primary" not in button
    assert "data-confirm-danger" in button
    confirm = re.search(r'data-confirm="([^"]*)"', button)
    assert confirm, button
    message = html.unescape(confirm.group(1))
    assert "API token and webhooks stop working" in message
    assert "are hidden" in message
    assert "are kept" in message
    assert 'name="confirm"' in form.group(0) and 'name="purge"' in form.group(0)
