"""The admin screen: who may see it, filters, keyset pages, the CSV export, the retention form."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from conftest import statements
from crm_apps.access.models import Member
from crm_apps.audit.models import AuditEvent
from crm_apps.audit.services import audit_log
from crm_apps.audit.tests.helpers import events, only

pytestmark = pytest.mark.django_db
URL = "/settings/audit/"


@pytest.fixture
def web(client_for, tenant_a, admin_of):
    return client_for(tenant_a, admin_of(tenant_a))


def log(tenant, **fields):
    with tenant_context(tenant):
        return audit_log(**fields)


def shown(response) -> list[int]:
    return [row["event"].pk for row in response.context["rows"]]


def exported(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize("path", [URL, URL + "export.csv", URL + "retention/"])
def test_only_admins_get_in(client_for, tenant_a, member, path):
    kim = member(tenant_a)

    anonymous = client_for(tenant_a).get(path)
    plain = client_for(tenant_a, kim).get(path)
    posted = client_for(tenant_a, kim).post(URL + "retention/", {"retention_days": 30})

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert plain.status_code == posted.status_code == 403
    assert events(tenant_a, action="export") == []
    assert events(tenant_a, action="settings_changed") == []


def test_lists_newest_first_with_changes_escaped(web, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    older = log(tenant_a, action="login_succeeded", actor=admin)
    newer = log(
        tenant_a,
        action="record_updated",
        actor=admin,
        module="contacts",
        record_id="not-a-uuid",
        record_label="<b>Hank</b>",
        changes={"title": ["<script>alert(1)</script>", "CFO"], "owner": [None, admin.pk]},
        details={"rows": 3, "<i>unknown</i>": "<u>x</u>"},
    )

    response = web.get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert shown(response) == [newer.pk, older.pk]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert "&lt;b&gt;Hank&lt;/b&gt;" in html
    assert "Title: <del>&lt;script&gt;" in html
    assert "Owner: <del>—</del> → <ins>admin@alpha.example.com</ins>" in html
    assert '<span class="muted">rows:</span> 3' in html
    assert "&lt;i&gt;unknown&lt;/i&gt;:</span> &lt;u&gt;x&lt;/u&gt;" in html
    assert '<label for="id_actor">' in html and '<label for="id_date_from">' in html


def test_filters(web, tenant_a, admin_of, member):
    admin = admin_of(tenant_a)
    kim = member(tenant_a, email="kim@example.com")
    login = log(tenant_a, action="login_succeeded", actor=kim)
    contact = log(tenant_a, action="record_created", actor=admin, module="contacts", record_id="c-1")
    deal = log(tenant_a, action="record_created", actor=admin, module="deals", record_id="d-1")
    with tenant_context(tenant_a):
        old = AuditEvent.objects.create(action="export", at=timezone.now() - timedelta(days=10))
    today = timezone.localdate()

    assert shown(web.get(URL, {"actor": kim.pk})) == [login.pk]
    assert shown(web.get(URL, {"action": "record_created"})) == [deal.pk, contact.pk]
    assert shown(web.get(URL, {"module": "contacts"})) == [contact.pk]
    assert shown(web.get(URL, {"record_id": "d-1"})) == [deal.pk]
    assert shown(web.get(URL, {"date_to": (today - timedelta(days=5)).isoformat()})) == [old.pk]
    assert old.pk not in shown(web.get(URL, {"date_from": today.isoformat()}))
    combined = web.get(URL, {"action": "record_created", "module": "deals", "actor": admin.pk})
    assert shown(combined) == [deal.pk]


def test_bad_filters_show_errors_and_filter_nothing(web, tenant_a):
    event = log(tenant_a, action="login_failed")

    response = web.get(URL, {"date_from": "2026-02-31", "action": "nope", "date_to": "", "cursor": "!!"})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"date_from", "action"}
    assert shown(response) == [event.pk]
    assert "showing the newest events" in response.content.decode()


def test_keyset_pages_do_not_skip_or_repeat_and_run_no_count(web, tenant_a):
    now = timezone.now()
    with tenant_context(tenant_a):
        same_instant = [AuditEvent.objects.create(action="login_failed", at=now) for _ in range(30)]
        earlier = [
            AuditEvent.objects.create(action="login_failed", at=now - timedelta(seconds=i + 1)) for i in range(45)
        ]
    expected = [e.pk for e in sorted(same_instant, key=lambda e: -e.pk)] + [e.pk for e in earlier]

    seen: list[int] = []
    url = URL + "?action=login_failed"
    with CaptureQueriesContext(connection) as first_page:
        response = web.get(url)
    while True:
        seen += shown(response)
        if not response.context["next_url"]:
            break
        response = web.get(URL + response.context["next_url"])

    assert seen == expected
    assert not any("COUNT(" in sql.upper() for sql in statements(first_page))


def test_page_queries_do_not_grow_with_events(web, tenant_a, admin_of):
    admin = admin_of(tenant_a)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert web.get(URL).status_code == 200
        return len(statements(queries))

    log(tenant_a, action="record_updated", actor=admin, module="contacts", changes={"custom.tier": ["A", "B"]})
    few = count()
    for module in ("contacts", "deals", "leads", "vendors"):
        for _ in range(5):
            log(tenant_a, action="record_updated", actor=admin, module=module, changes={"custom.tier": ["A", "B"]})
    many = count()

    assert many <= few + 3  # at most one custom-field lookup per further module on the page


def test_csv_export_is_filtered_escaped_and_audited(web, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    log(tenant_a, action="login_succeeded", actor=admin)
    formula = log(
        tenant_a,
        action="record_updated",
        actor=admin,
        module="contacts",
        record_id="r-1",
        record_label='=HYPERLINK("http://evil")',
        changes={"title": ["-1", "@SUM(A1)"]},
    )

    response = web.get(URL + "export.csv", {"action": "record_updated"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    header, *rows = exported(response)
    assert header[:3] == ["Time", "Who", "Member ID"]
    assert len(rows) == 1
    row = rows[0]
    assert row[1:8] == [
        "admin@alpha.example.com",
        str(admin.pk),
        "",
        "record_updated",
        "contacts",
        "r-1",
        '\'=HYPERLINK("http://evil")',
    ]
    assert row[8] == '{"title": ["-1", "@SUM(A1)"]}'
    assert row[0].startswith(timezone.localtime(formula.at).strftime("%Y-%m-%d"))
    audited = only(tenant_a, action="export")
    assert (audited.actor_id, audited.module) == (admin.pk, "")
    assert audited.details == {
        "source": "audit",
        "format": "csv",
        "rows": 1,
        "view": {"action": "record_updated"},
    }


def test_csv_cells_starting_with_formula_characters_are_neutralised(web, tenant_a):
    for label in ("+1+1", "-2", "@cmd", "=1"):
        log(tenant_a, action="login_failed", actor_label=label)

    rows = exported(web.get(URL + "export.csv"))[1:]

    assert sorted(r[1] for r in rows) == ["'+1+1", "'-2", "'=1", "'@cmd"]


def test_tenants_never_see_each_others_events(client_for, tenant_a, tenant_b, admin_of):
    a_event = log(tenant_a, action="record_created", module="contacts", record_label="Alpha secret")
    b_event = log(tenant_b, action="record_created", module="contacts", record_label="Beta secret")
    web_b = client_for(tenant_b, admin_of(tenant_b))

    page = web_b.get(URL)
    filtered = web_b.get(URL, {"record_id": "", "action": "record_created"})
    export = exported(web_b.get(URL + "export.csv"))
    # an admin of A is a stranger on B's host
    stranger = client_for(tenant_b, admin_of(tenant_a)).get(URL)

    assert shown(page) == shown(filtered) == [b_event.pk]
    assert "Alpha secret" not in page.content.decode()
    assert [r[7] for r in export[1:]] == ["Beta secret"]
    assert stranger.status_code == 302
    with schema_context("beta"):
        assert not AuditEvent.objects.filter(record_label="Alpha secret").exists()
    assert a_event.pk not in [e.pk for e in events(tenant_b) if e.record_label == "Alpha secret"]


def test_retention_form_validates_saves_and_is_translated(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    web = client_for(tenant_a, admin)

    page = web.get(URL + "retention/")
    too_short = web.post(URL + "retention/", {"retention_days": "10"})
    not_a_number = web.post(URL + "retention/", {"retention_days": "a year"})
    saved = web.post(URL + "retention/", {"retention_days": "90"})
    with schema_context("alpha"):
        Member.objects.filter(pk=admin.pk).update(language="ru")
    russian = web.post(URL + "retention/", {"retention_days": "5000"})

    assert page.status_code == 200 and 'value="365"' in page.content.decode()
    assert '<label for="id_retention_days">' in page.content.decode()
    assert too_short.status_code == 200
    assert list(too_short.context["form"].errors) == ["retention_days"]
    assert "Ensure this value is greater than or equal to 30." in too_short.content.decode()
    assert "Nothing was saved" in too_short.content.decode()
    assert list(not_a_number.context["form"].errors) == ["retention_days"]
    assert saved.status_code == 302 and saved["Location"] == URL
    assert only(tenant_a, action="settings_changed").changes == {"retention_days": [365, 90]}
    assert russian.status_code == 200
    assert "Хранить события (дней)" in russian.content.decode()
    assert "Ничего не сохранено" in russian.content.decode()
    assert web.get(URL).context["retention_days"] == 90


def test_settings_page_links_to_the_audit_trail(web):
    assert 'href="/settings/audit/"' in web.get("/settings/modules/").content.decode()


def test_changes_show_translated_field_labels_and_picklist_labels_not_keys(client_for, tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        Member.objects.filter(pk=admin.pk).update(language="ru")
    log(tenant_a, action="record_updated", actor=admin, module="leads", changes={"status": ["Cold", "Hot"]})
    log(
        tenant_a,
        action="settings_changed",
        actor=admin,
        module="",
        changes={"retired": [False, True]},
        details={"setting": "picklist_value_changed"},
    )

    html = client_for(tenant_a, admin).get(URL).content.decode()

    assert "Статус лида: <del>Холодный</del> → <ins>Горячий</ins>" in html
    assert "Отключено: <del>нет</del> → <ins>да</ins>" in html
    assert "значение списка изменено" in html
    assert "picklist_value_changed" not in html
