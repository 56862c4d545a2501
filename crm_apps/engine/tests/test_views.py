"""The generic screens of every module, through the HTML views."""

from __future__ import annotations

import csv
import io
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from conftest import statements
from crm_apps.engine import registry
from crm_apps.engine.models import Comment, Follow
from crm_apps.engine.services import custom_field_create, record_create, record_delete

pytestmark = pytest.mark.django_db
MODULES = sorted(s.key for s in registry.all_specs())


@pytest.fixture
def web(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def make(tenant, actor, module, **extra):
    spec = registry.get(module)
    with tenant_context(tenant):
        return record_create(spec=spec, actor=actor, data={**spec.example, **extra})


@pytest.mark.parametrize("module", MODULES)
def test_list_detail_create_edit_pages(web, tenant_a, admin_of, module):
    spec = registry.get(module)
    record = make(tenant_a, admin_of(tenant_a), module)

    listing = web.get(f"/m/{module}/")
    detail = web.get(f"/m/{module}/{record.pk}/")
    new = web.get(f"/m/{module}/new/")
    edit = web.get(f"/m/{module}/{record.pk}/edit/")

    assert listing.status_code == detail.status_code == new.status_code == edit.status_code == 200
    assert record.number in listing.content.decode()
    assert str(record) in detail.content.decode()
    assert spec.number_prefix in detail.content.decode()


@pytest.mark.parametrize("module", MODULES)
def test_create_through_the_form_and_field_errors(web, tenant_a, module):
    spec = registry.get(module)
    payload = {k: v for k, v in spec.example.items()}

    required = next(k for k in payload if not getattr(spec.model._meta.get_field(k), "blank", True))
    bad = web.post(f"/m/{module}/new/", {**payload, required: ""})
    good = web.post(f"/m/{module}/new/", payload)

    assert bad.status_code == 200
    assert bad.context["form"].errors
    assert good.status_code == 302
    with tenant_context(tenant_a):
        assert spec.model.objects.count() == 1


@pytest.mark.parametrize("module", ["contacts", "leads", "organizations"])
def test_duplicates_are_flagged_on_create(web, tenant_a, admin_of, module):
    spec = registry.get(module)
    make(tenant_a, admin_of(tenant_a), module)

    warned = web.post(f"/m/{module}/new/", dict(spec.example))
    forced = web.post(f"/m/{module}/new/", {**spec.example, "confirm_duplicate": "1"})

    assert warned.status_code == 200
    assert "This looks like a record you already have" in warned.content.decode()
    assert forced.status_code == 302


def test_detail_query_count_is_pinned_and_constant(web, tenant_a, admin_of):
    """An organisation page with its related lists: picklists are read once for the whole page, the
    recently-viewed mark is one upsert; more related records add no statements (the timeline's
    "related record added" entries cost one query per module they name, not per record)."""
    actor = admin_of(tenant_a)
    org = make(tenant_a, actor, "organizations", name="Pinned Org")
    make(tenant_a, actor, "contacts", last_name="One", organization=org.pk)
    make(tenant_a, actor, "deals", name="First deal", organization=org.pk)
    web.get(f"/m/organizations/{org.pk}/")  # the first visit inserts the recently-viewed row
    with CaptureQueriesContext(connection) as few:
        assert web.get(f"/m/organizations/{org.pk}/").status_code == 200
    for i in range(8):
        make(tenant_a, actor, "contacts", last_name=f"More {i}", organization=org.pk)
        make(tenant_a, actor, "deals", name=f"Deal {i}", organization=org.pk)
    with CaptureQueriesContext(connection) as many:
        assert web.get(f"/m/organizations/{org.pk}/").status_code == 200

    def shapes(captured):
        return Counter(q[:60] for q in statements(captured))

    assert len(statements(many)) == len(statements(few)), shapes(many) - shapes(few)
    # Session with member and user, the organisation (with whether each list and panel has rows at all), its
    # contacts, its deals, the timeline and the titles of the records its "related record added" entries name
    # (contacts, deals). The panels with nothing linked (emails, tickets, projects, calls, documents,
    # activities) read nothing; their queries when they list rows: test_extension_points.py.
    assert len(statements(many)) == 7, [q[:60] for q in statements(many)]


@pytest.mark.parametrize("module", MODULES)
def test_list_query_count_is_constant(web, tenant_a, admin_of, module):
    actor = admin_of(tenant_a)
    for _ in range(5):
        make(tenant_a, actor, module)
    web.get(f"/m/{module}/")  # warm: the process's first page reads the tenant's metadata once
    with CaptureQueriesContext(connection) as few:
        web.get(f"/m/{module}/")
    for _ in range(20):
        make(tenant_a, actor, module)
    with CaptureQueriesContext(connection) as many:
        web.get(f"/m/{module}/")

    assert len(statements(many)) == len(statements(few))
    assert len(statements(many)) <= 9, statements(many)


def test_search_filter_sort_and_pagination_in_the_ui(web, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    for i in range(30):
        make(tenant_a, actor, "contacts", last_name=f"Zeta{i:02d}", email=f"z{i}@example.com")
    make(tenant_a, actor, "contacts", last_name="Quixote", email="q@example.com")

    found = web.get("/m/contacts/?q=quix")
    page1 = web.get("/m/contacts/?ordering=last_name")
    page2 = web.get("/m/contacts/" + page1.context["next_url"])
    bad = web.get("/m/contacts/?colour=red")

    assert [r["record"].last_name for r in found.context["rows"]] == ["Quixote"]
    names = [r["record"].last_name for r in page1.context["rows"]] + [
        r["record"].last_name for r in page2.context["rows"]
    ]
    assert names[:3] == ["Quixote", "Zeta00", "Zeta01"]
    assert len(set(names)) == 31
    assert bad.status_code == 200 and "Unknown filter" in bad.content.decode()


def test_custom_field_appears_in_form_detail_filter_and_export(web, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    spec = registry.get("contacts")
    with tenant_context(tenant_a):
        custom_field_create(actor=actor, spec=spec, key="shoe_size", label="Shoe size", type="integer")

    web.post("/m/contacts/new/", {**spec.example, "custom__shoe_size": "44"})
    with tenant_context(tenant_a):
        record = spec.model.objects.get()
    detail = web.get(f"/m/contacts/{record.pk}/").content.decode()
    filtered = web.get("/m/contacts/?custom.shoe_size__gte=40").context["rows"]
    exported = b"".join(web.get("/m/contacts/export.csv").streaming_content).decode("utf-8-sig")

    assert record.custom_data == {"shoe_size": 44}
    assert "Shoe size" in detail and "44" in detail
    assert [r["record"].pk for r in filtered] == [record.pk]
    rows = list(csv.reader(io.StringIO(exported)))
    assert "Shoe size" in rows[0]
    assert rows[1][rows[0].index("Shoe size")] == "44"


def test_xlsx_export_respects_the_filter(web, tenant_a, admin_of):
    from openpyxl import load_workbook

    actor = admin_of(tenant_a)
    make(tenant_a, actor, "leads", status="Hot")
    make(tenant_a, actor, "leads", status="Cold", email="other@example.com")

    response = web.get("/m/leads/export.xlsx?status=Hot")

    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert len(values) == 2
    assert "Hot" in values[1]


def test_export_of_tenant_a_contains_nothing_of_tenant_b(web, tenant_a, tenant_b, admin_of):
    make(tenant_b, admin_of(tenant_b), "contacts", last_name="Betaonly")
    make(tenant_a, admin_of(tenant_a), "contacts", last_name="Alphaonly")

    exported = b"".join(web.get("/m/contacts/export.csv").streaming_content).decode("utf-8-sig")

    assert "Alphaonly" in exported
    assert "Betaonly" not in exported


def test_record_pages_of_tenant_b_are_404_on_tenant_a(web, tenant_b, admin_of):
    record = make(tenant_b, admin_of(tenant_b), "contacts")

    assert web.get(f"/m/contacts/{record.pk}/").status_code == 404
    assert web.get(f"/m/contacts/{record.pk}/edit/").status_code == 404
    assert web.post(f"/m/contacts/{record.pk}/delete/").status_code == 404


def test_delete_restore_and_recycle_bin(web, tenant_a, admin_of):
    record = make(tenant_a, admin_of(tenant_a), "vendors")

    web.post(f"/m/vendors/{record.pk}/delete/")
    trash = web.get("/m/vendors/trash/")
    gone = web.get(f"/m/vendors/{record.pk}/")
    web.post(f"/m/vendors/{record.pk}/restore/")

    assert record.number in trash.content.decode()
    assert gone.status_code == 404
    assert web.get(f"/m/vendors/{record.pk}/").status_code == 200


def test_recycle_bin_is_purged_after_30_days(tenant_a, admin_of):
    from datetime import timedelta

    from django.utils import timezone

    from crm_apps.engine.services import records_purge_deleted

    spec = registry.get("vendors")
    old = make(tenant_a, admin_of(tenant_a), "vendors")
    recent = make(tenant_a, admin_of(tenant_a), "vendors", name="Recent")
    with tenant_context(tenant_a):
        record_delete(spec=spec, actor=admin_of(tenant_a), record=old)
        record_delete(spec=spec, actor=admin_of(tenant_a), record=recent)
        spec.model.objects.filter(pk=old.pk).update(deleted_at=timezone.now() - timedelta(days=31))
        purged = records_purge_deleted()
        assert purged == {"vendors": 1}
        assert list(spec.model.objects.values_list("pk", flat=True)) == [recent.pk]


def test_mass_change_owner_and_delete(web, tenant_a, admin_of, member):
    other = member(tenant_a)
    actor = admin_of(tenant_a)
    a = make(tenant_a, actor, "organizations", name="A Co")
    b = make(tenant_a, actor, "organizations", name="B Co")

    web.post("/m/organizations/mass/", {"ids": [a.pk, b.pk], "action": "owner", "owner": f"m:{other.pk}"})
    with tenant_context(tenant_a):
        assert set(registry.get("organizations").model.objects.values_list("owner_id", flat=True)) == {other.pk}
    web.post("/m/organizations/mass/", {"ids": [a.pk], "action": "delete"})
    with tenant_context(tenant_a):
        assert registry.get("organizations").model.objects.filter(deleted_at__isnull=True).count() == 1


def test_merge_moves_related_records_and_keeps_chosen_values(web, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    keep = make(tenant_a, actor, "organizations", name="Globex", phone="+1 555 0000")
    dupe = make(tenant_a, actor, "organizations", name="Globex Inc", phone="+1 555 9999")
    contact = make(tenant_a, actor, "contacts", organization=str(dupe.pk))
    with tenant_context(tenant_a):
        Comment.objects.create(module="organizations", record_id=dupe.pk, author=actor, body="note")

    response = web.post(
        "/m/organizations/merge/",
        {"ids": [keep.pk, dupe.pk], "primary": keep.pk, "choice:phone": dupe.pk, "choice:name": keep.pk},
    )

    assert response.status_code == 302
    with tenant_context(tenant_a):
        model = registry.get("organizations").model
        merged = model.objects.get(pk=keep.pk)
        assert (merged.name, merged.phone) == ("Globex", "+1 555 9999")
        assert model.objects.get(pk=dupe.pk).deleted_at is not None
        assert registry.get("contacts").model.objects.get(pk=contact.pk).organization_id == keep.pk
        assert Comment.objects.get().record_id == keep.pk


def test_comment_with_mention_notifies_and_follow(web, tenant_a, admin_of, member, django_capture_on_commit_callbacks):
    from django.core import mail

    mentioned = member(tenant_a, email="mia@example.com")
    record = make(tenant_a, admin_of(tenant_a), "deals")

    with django_capture_on_commit_callbacks(execute=True):
        web.post(f"/m/deals/{record.pk}/comment/", {"body": "Can you call them, @mia@example.com?"})
    web.post(f"/m/deals/{record.pk}/follow/", {"follow": "1"})

    with tenant_context(tenant_a):
        comment = Comment.objects.get()
        assert list(comment.mentions.all()) == [mentioned]
        assert Follow.objects.filter(record_id=record.pk).count() == 1
    assert mail.outbox[0].to == ["mia@example.com"]
    assert "mentioned you" in mail.outbox[0].subject
    home = web.get("/").content.decode()
    assert str(record) in home


def test_global_search_groups_results_and_tolerates_typos(web, tenant_a, tenant_b, admin_of):
    make(tenant_a, admin_of(tenant_a), "contacts", last_name="Schwarzenegger", email="arnold@example.com")
    make(tenant_a, admin_of(tenant_a), "organizations", name="Schwarz Logistics")
    make(tenant_b, admin_of(tenant_b), "contacts", last_name="Schwarzkopf", email="hidden@example.com")

    prefix = web.get("/search/?q=schwar").context["results"]
    typo = web.get("/search/?q=Schwarzeneger").context["results"]
    by_email = web.get("/search/?q=arnold@example.com").context["results"]

    assert {g["spec"].key for g in prefix} == {"contacts", "organizations"}
    assert all("Schwarzkopf" not in title for g in prefix for _url, title, _n in g["rows"])
    assert [t for g in typo for _u, t, _n in g["rows"]] == ["Hank Schwarzenegger"]
    assert [g["spec"].key for g in by_email] == ["contacts"]


def test_markup_is_shown_escaped(web, tenant_a, admin_of):
    record = make(tenant_a, admin_of(tenant_a), "organizations", name="<script>alert(1)</script>")

    html = web.get(f"/m/organizations/{record.pk}/").content.decode() + web.get("/m/organizations/").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_mass_set_a_field_is_all_or_nothing(web, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    a = make(tenant_a, actor, "leads", email="a@example.com")
    b = make(tenant_a, actor, "leads", email="b@example.com")

    web.post("/m/leads/mass/", {"ids": [a.pk, b.pk], "action": "edit", "field": "status", "value": "Warm"})
    bad = web.post(
        "/m/leads/mass/", {"ids": [a.pk, b.pk], "action": "edit", "field": "email", "value": "nope"}, follow=True
    )

    with tenant_context(tenant_a):
        leads = registry.get("leads").model.objects.order_by("email")
        assert [(lead.status, lead.email) for lead in leads] == [("Warm", "a@example.com"), ("Warm", "b@example.com")]
    assert "Enter a valid email address." in bad.content.decode()


def test_a_new_contact_shows_on_its_organisations_timeline(web, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    org = make(tenant_a, actor, "organizations")
    contact = make(tenant_a, actor, "contacts", organization=str(org.pk))

    page = web.get(f"/m/organizations/{org.pk}/").content.decode()

    assert f"{contact.number} · {contact}" in page


def test_saved_view_keeps_filters_and_custom_columns(web, tenant_a, admin_of, member, client_for):
    actor = admin_of(tenant_a)
    spec = registry.get("leads")
    with tenant_context(tenant_a):
        custom_field_create(actor=actor, spec=spec, key="budget", label="Budget", type="currency")
    make(tenant_a, actor, "leads", status="Hot")
    make(tenant_a, actor, "leads", status="Cold", email="c@example.com")

    saved = web.post("/m/leads/views/", {"name": "Hot ones", "status": "Hot", "columns": ["budget", "bogus"]})
    page = web.get(saved["Location"])
    private = client_for(tenant_a, member(tenant_a)).get(saved["Location"])

    assert [r["record"].status for r in page.context["rows"]] == ["Hot"]
    assert [f.key for f in page.context["custom_columns"]] == ["budget"]
    assert private.context["saved"] is None  # another member does not see a private view


def test_list_with_references_has_no_per_row_queries(web, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    org = make(tenant_a, actor, "organizations")
    make(tenant_a, actor, "contacts", organization=str(org.pk))
    web.get("/m/contacts/")  # warm: metadata is read once per process and metadata version
    with CaptureQueriesContext(connection) as one:
        web.get("/m/contacts/")
    for _ in range(10):
        make(tenant_a, actor, "contacts", organization=str(org.pk))
    with CaptureQueriesContext(connection) as eleven:
        web.get("/m/contacts/")

    assert len(statements(eleven)) == len(statements(one)) <= 9


def test_timeline_shows_labels_not_stored_values(web, tenant_a, admin_of):
    from crm_apps.engine.models import PicklistValue
    from crm_apps.engine.services import picklist_value_update, record_update

    actor = admin_of(tenant_a)
    org = make(tenant_a, actor, "organizations", name="Labelled Org")
    lead = make(tenant_a, actor, "leads", status="Cold")
    contact = make(tenant_a, actor, "contacts")
    with tenant_context(tenant_a):
        picklist_value_update(
            actor=actor, value=PicklistValue.objects.get(picklist__name="lead_status", value="Hot"), label="Very hot"
        )
        record_update(spec=registry.get("leads"), actor=actor, record=lead, data={"status": "Hot"})
        record_update(spec=registry.get("contacts"), actor=actor, record=contact, data={"organization": str(org.pk)})

    lead_page = web.get(f"/m/leads/{lead.pk}/").content.decode()
    contact_page = web.get(f"/m/contacts/{contact.pk}/").content.decode()

    assert "<ins>Very hot</ins>" in lead_page
    assert "<ins>Labelled Org</ins>" in contact_page
    assert f"<ins>{org.pk}</ins>" not in contact_page


def test_search_ignores_accents(web, tenant_a, admin_of):
    make(tenant_a, admin_of(tenant_a), "contacts", last_name="García", email="mateo@example.com")

    for text in ("garcia", "García", "GARC"):
        groups = web.get(f"/search/?q={text}").context["results"]
        assert [t for g in groups for _u, t, _n in g["rows"]] == ["Hank García"], text


def test_bulk_search_vector_refresh_also_folds_accents(tenant_a, admin_of):
    from crm_apps.engine.selectors import search_query
    from crm_apps.engine.services import search_vector_refresh

    record = make(tenant_a, admin_of(tenant_a), "contacts", last_name="Łódź-Müller")
    spec = registry.get("contacts")
    with tenant_context(tenant_a):
        spec.model.objects.filter(pk=record.pk).update(search_vector=None)
        search_vector_refresh(spec, [record.pk])
        assert spec.model.objects.filter(search_vector=search_query("muller")).exists()


def test_editing_a_record_changed_meanwhile_is_refused_in_the_form(web, tenant_a, admin_of):
    from crm_apps.engine.services import record_update

    actor = admin_of(tenant_a)
    vendor = make(tenant_a, actor, "vendors", name="Before")
    form_version = vendor.version
    with tenant_context(tenant_a):
        record_update(spec=registry.get("vendors"), actor=actor, record=vendor, data={"name": "Someone else"})

    stale = web.post(f"/m/vendors/{vendor.pk}/edit/", {"name": "Mine", "version": form_version})
    junk = web.post(f"/m/vendors/{vendor.pk}/edit/", {"name": "Mine", "version": "abc"})

    assert "Someone else changed this record" in stale.content.decode()
    assert "Someone else changed this record" in junk.content.decode()
    with tenant_context(tenant_a):
        assert registry.get("vendors").model.objects.get(pk=vendor.pk).name == "Someone else"
