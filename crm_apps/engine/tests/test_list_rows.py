"""List rows kept in the worker (engine/list_rows.py): a row is drawn once and served again while nothing it is
drawn from changed; any change of the record, of a joined record, of the tenant's metadata, of the member's
language, formats or rights gives the fresh row; nothing crosses tenants."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import tenant_context

from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.display import Displayer
from crm_apps.engine.list_rows import signature
from crm_apps.engine.models import PicklistValue
from crm_apps.engine.services import record_create, record_update
from crm_apps.engine.services.picklists import picklist_value_update

pytestmark = pytest.mark.django_db
CONTACTS = registry.get("contacts")
ORGS = registry.get("organizations")


@pytest.fixture
def drawn(monkeypatch):
    """How many cells the list pages drew (Displayer.value calls) since the test began."""
    calls = []
    original = Displayer.value

    def counted(self, record, name):
        calls.append((record.pk, name))
        return original(self, record, name)

    monkeypatch.setattr(Displayer, "value", counted)
    return calls


def row_of(html: str, pk) -> str:
    found = re.search(rf'<tr data-row data-url="/m/contacts/{pk}/".*?</tr>', html, re.S)
    assert found, f"no row for {pk}"
    return found.group(0)


def show(web, *columns):
    """The member's list layout: these columns."""
    saved = web.post("/m/contacts/layout/", {"columns": list(columns), "density": "comfortable", "page_size": "25"})
    assert saved.status_code in (200, 204, 302)


def contact(tenant, actor, **extra):
    with tenant_context(tenant):
        return record_create(spec=CONTACTS, actor=actor, data={**CONTACTS.example, **extra})


def test_a_row_is_drawn_once_and_served_again_the_same(web, tenant_a, admin, drawn):
    record = contact(tenant_a, admin, last_name="Keeping")

    response = web.get("/m/contacts/")
    first = response.content.decode()
    cells_first = len(drawn)
    row = response.context["rows"][0]  # rows read as the dicts they were: record, url, cells, editable, flags
    assert row["record"].pk == record.pk and row["url"] == f"/m/contacts/{record.pk}/"
    assert [name for name, _shown in row["cells"]] == list(CONTACTS.list_columns)
    again = web.get("/m/contacts/").content.decode()

    assert cells_first == len(CONTACTS.list_columns)
    assert len(drawn) == cells_first  # nothing drawn the second time
    assert row_of(again, record.pk) == row_of(first, record.pk)
    assert "Keeping" in row_of(again, record.pk)


def test_a_changed_record_is_drawn_afresh(web, tenant_a, admin, drawn):
    record = contact(tenant_a, admin, last_name="Before")
    web.get("/m/contacts/")
    with tenant_context(tenant_a):
        record_update(spec=CONTACTS, actor=admin, record=record, data={"last_name": "After"})

    row = row_of(web.get("/m/contacts/").content.decode(), record.pk)

    assert "After" in row and "Before" not in row


def test_a_change_written_past_the_services_is_seen_too(web, tenant_a, admin):
    """The key is the values read, not a version someone must remember to move: a bulk UPDATE shows."""
    record = contact(tenant_a, admin, email="old@example.com")
    web.get("/m/contacts/")
    with tenant_context(tenant_a):
        CONTACTS.model.objects.filter(pk=record.pk).update(email="new@example.com")

    row = row_of(web.get("/m/contacts/").content.decode(), record.pk)

    assert "new@example.com" in row and "old@example.com" not in row


def test_a_renamed_organisation_and_owner_show_in_the_rows_that_join_them(web, tenant_a, admin):
    with tenant_context(tenant_a):
        org = record_create(spec=ORGS, actor=admin, data={"name": "Initech"})
    record = contact(tenant_a, admin, organization=org.pk)
    before = row_of(web.get("/m/contacts/").content.decode(), record.pk)
    with tenant_context(tenant_a):
        ORGS.model.objects.filter(pk=org.pk).update(name="Initrode")
    get_user_model().objects.filter(pk=admin.user_id).update(name="Renamed Owner")

    after = row_of(web.get("/m/contacts/").content.decode(), record.pk)

    assert "Initech" in before and admin.user.name in before
    assert "Initrode" in after and "Initech" not in after
    assert "Renamed Owner" in after


def test_an_organisation_moved_to_the_recycle_bin_is_marked_in_its_contacts_rows(web, tenant_a, admin):
    with tenant_context(tenant_a):
        org = record_create(spec=ORGS, actor=admin, data={"name": "Binned Ltd"})
    record = contact(tenant_a, admin, organization=org.pk)
    web.get("/m/contacts/")
    with tenant_context(tenant_a):
        from django.utils import timezone

        ORGS.model.objects.filter(pk=org.pk).update(deleted_at=timezone.now())

    row = row_of(web.get("/m/contacts/").content.decode(), record.pk)

    assert "Binned Ltd (in the recycle bin)" in row


def test_a_renamed_picklist_value_shows_at_once(web, tenant_a, admin, django_capture_on_commit_callbacks):
    with tenant_context(tenant_a):
        value = PicklistValue.objects.filter(picklist__name="lead_source").order_by("position")[0]
    old_label = value.label
    record = contact(tenant_a, admin, lead_source=value.value)
    show(web, "last_name", "lead_source")
    before = row_of(web.get("/m/contacts/").content.decode(), record.pk)
    with tenant_context(tenant_a), django_capture_on_commit_callbacks(execute=True):
        picklist_value_update(actor=admin, value=value, label="Renamed source")

    after = row_of(web.get("/m/contacts/").content.decode(), record.pk)

    assert old_label in before
    assert "Renamed source" in after and old_label not in after


def test_rows_follow_each_members_language_and_rights(client_for, tenant_a, admin, member):
    """The same record through an English administrator who may edit it and a Russian member who may not."""
    record = contact(tenant_a, admin)
    reader = member(tenant_a)
    english, russian = client_for(tenant_a, admin), client_for(tenant_a, reader)
    russian.post("/settings/preferences/", {"language": "ru", "next": "/"})

    mine = row_of(english.get("/m/contacts/").content.decode(), record.pk)
    theirs = row_of(russian.get("/m/contacts/").content.decode(), record.pk)
    mine_again = row_of(english.get("/m/contacts/").content.decode(), record.pk)

    assert 'data-label="Last name"' in mine and "data-edit=" in mine
    assert 'data-label="Фамилия"' in theirs
    assert mine_again == mine


def test_rows_follow_the_members_date_format(web, tenant_a, admin):
    record = contact(tenant_a, admin, birthday="1980-03-14")
    show(web, "last_name", "birthday")
    with tenant_context(tenant_a):
        Member.objects.filter(pk=admin.pk).update(date_format="iso")
    iso = row_of(web.get("/m/contacts/").content.decode(), record.pk)
    with tenant_context(tenant_a):
        Member.objects.filter(pk=admin.pk).update(date_format="dmy_dot")
    dotted = row_of(web.get("/m/contacts/").content.decode(), record.pk)

    assert "1980-03-14" in iso and "14.03.1980" not in iso
    assert "14.03.1980" in dotted


def test_a_row_of_one_tenant_is_never_served_to_another(client_for, tenant_a, tenant_b, admin, admin_of):
    """Two workspaces, a contact with the same id in each: each list shows its own."""
    record = contact(tenant_a, admin, last_name="Alphaname")
    other_admin = admin_of(tenant_b)
    with tenant_context(tenant_b):
        twin = record_create(spec=CONTACTS, actor=other_admin, data={**CONTACTS.example, "last_name": "Betaname"})
        CONTACTS.model.objects.filter(pk=twin.pk).update(id=record.pk)

    in_a = row_of(client_for(tenant_a, admin).get("/m/contacts/").content.decode(), record.pk)
    in_b = row_of(client_for(tenant_b, other_admin).get("/m/contacts/").content.decode(), record.pk)

    assert "Alphaname" in in_a and "Betaname" not in in_a
    assert "Betaname" in in_b and "Alphaname" not in in_b


def test_signature_describes_the_joined_rows_and_refuses_what_it_cannot_compare(tenant_a, admin):
    record = contact(tenant_a, admin)
    with tenant_context(tenant_a):
        loaded = CONTACTS.model.objects.select_related("owner__user").get(pk=record.pk)
        described = signature(loaded)
        loaded.owner.user.name = "Someone Else"
        renamed = signature(loaded)
        loaded.__dict__["odd"] = object()
        refused = signature(loaded)

    assert described is not None and renamed is not None
    assert described != renamed
    assert refused is None
    hash(described)
