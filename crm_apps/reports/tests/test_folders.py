"""Report folders shared with members, roles and groups: every report in a shared folder opens for the folder's
audience (with their own rights), nobody else; only the owner (or an admin) changes a folder; field errors for bad
input; the folder page; another workspace's folder ids are 404."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.access.grants import access_changed
from crm_apps.access.models import Group, Role
from crm_apps.access.services import profile_save, role_create, sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.reports.models import Report, ReportFolder
from crm_apps.reports.tests.test_api import SUMMARY, api_for, post

pytestmark = pytest.mark.django_db
DEALS = registry.get("deals")


@pytest.fixture
def admin(tenant_a, admin_of):
    return admin_of(tenant_a)


@pytest.fixture
def team(tenant_a, admin, member):
    """An owner (not an admin) and four other members: one named, one by role, one by group, one outsider."""
    with tenant_context(tenant_a):
        profile = profile_save(actor=admin, profile=None, name="Folder readers", flags={})
        top = Role.objects.get(parent__isnull=True)
        roles = [
            role_create(actor=admin, name=f"Folder role {i}", parent=top, profile_ids=[profile.pk]) for i in "abcde"
        ]
    people = {
        name: member(tenant_a, role=role)
        for name, role in zip(("owner", "named", "by_role", "grouped", "outsider"), roles, strict=True)
    }
    with tenant_context(tenant_a):
        group = Group.objects.create(name="Folder group")
        group.members.add(people["grouped"])
        access_changed()
    return people, roles, group


def listed(client) -> set[int]:
    return {r["id"] for r in client.get("/api/v1/reports/").json()["results"]}


def test_a_shared_folder_opens_its_reports_for_its_members_roles_and_groups_only(tenant_a, admin, team):
    people, roles, group = team
    owner = api_for(tenant_a, people["owner"])
    clients = {name: api_for(tenant_a, m) for name, m in people.items()}
    folder = post(owner, "/api/v1/report-folders/", {"name": "Sales"}).json()
    assert folder["sharing"] == "private" and folder["can_change"] is True
    report = post(
        owner, "/api/v1/reports/", {"name": "In folder", "definition": SUMMARY, "folder": folder["id"]}
    ).json()
    loose = post(owner, "/api/v1/reports/", {"name": "Outside", "definition": SUMMARY}).json()
    # A private folder shares nothing.
    for name in ("named", "by_role", "grouped", "outsider"):
        assert clients[name].get(f"/api/v1/reports/{report['id']}/run").status_code == 404
    changed = owner.patch(
        f"/api/v1/report-folders/{folder['id']}",
        {
            "sharing": "shared",
            "shared_members": [people["named"].pk],
            "shared_roles": [roles[2].pk],
            "shared_groups": [group.pk],
        },
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["shared_groups"] == [group.pk]
    for name in ("named", "by_role", "grouped"):
        assert clients[name].get(f"/api/v1/reports/{report['id']}/run").status_code == 200, name
        assert listed(clients[name]) == {report["id"]}, name  # the folder's report, not the owner's other one
        assert folder["id"] in {x["id"] for x in clients[name].get("/api/v1/report-folders/").json()["results"]}
        assert clients[name].get(f"/api/v1/reports/{loose['id']}/run").status_code == 404
    outsider = clients["outsider"]
    assert outsider.get(f"/api/v1/reports/{report['id']}/run").status_code == 404
    assert outsider.get(f"/api/v1/reports/{report['id']}/export.csv").status_code == 404
    assert outsider.get(f"/api/v1/report-folders/{folder['id']}").status_code == 404
    assert listed(outsider) == set()
    # Readers may not change the folder or its reports.
    named = clients["named"]
    assert (
        named.patch(
            f"/api/v1/report-folders/{folder['id']}", {"name": "Mine"}, content_type="application/json"
        ).status_code
        == 403
    )
    assert named.delete(f"/api/v1/report-folders/{folder['id']}").status_code == 403
    assert named.delete(f"/api/v1/reports/{report['id']}").status_code == 403
    # Shared with everyone (no one named).
    owner.patch(
        f"/api/v1/report-folders/{folder['id']}",
        {"shared_members": [], "shared_roles": [], "shared_groups": []},
        content_type="application/json",
    )
    assert outsider.get(f"/api/v1/reports/{report['id']}/run").status_code == 200
    # Deleting the folder keeps the report, no longer shared through it.
    assert owner.delete(f"/api/v1/report-folders/{folder['id']}").status_code == 204
    with tenant_context(tenant_a):
        assert Report.objects.filter(pk=report["id"], folder__isnull=True).exists()
    assert outsider.get(f"/api/v1/reports/{report['id']}/run").status_code == 404


def test_a_report_in_a_shared_folder_runs_with_the_readers_own_rights(tenant_a, admin, team):
    people, _roles, _group = team
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="deals", access="private")
        for who, amount in (("owner", "100"), ("owner", "50"), ("named", "7")):
            record_create(
                spec=DEALS,
                actor=admin,
                data={"name": "F", "close_date": "2027-01-05", "amount": amount, "owner": people[who].pk},
            )
    owner = api_for(tenant_a, people["owner"])
    folder = post(
        owner, "/api/v1/report-folders/", {"name": "Team", "sharing": "shared", "shared_members": [people["named"].pk]}
    ).json()
    report = post(owner, "/api/v1/reports/", {"name": "Pipeline", "definition": SUMMARY, "folder": folder["id"]}).json()
    assert owner.get(f"/api/v1/reports/{report['id']}/run").json()["totals"]["count"] == 2
    reader = api_for(tenant_a, people["named"]).get(f"/api/v1/reports/{report['id']}/run").json()
    assert reader["totals"] == {"sum_amount": "7.00", "count": 1}  # nothing of the owner's private deals


def test_bad_folder_input_is_a_field_error_and_changes_nothing(tenant_a, admin, team):
    people, _roles, _group = team
    owner = api_for(tenant_a, people["owner"])
    post(owner, "/api/v1/report-folders/", {"name": "Taken"})
    bad = post(
        owner,
        "/api/v1/report-folders/",
        {"name": "Taken", "sharing": "public", "shared_members": [999999], "shared_roles": "x", "colour": "red"},
    )
    assert bad.status_code == 400
    assert set(bad.json()) >= {"name", "sharing", "shared_members", "shared_roles", "colour"}
    assert post(owner, "/api/v1/report-folders/", {"name": " "}).status_code == 400
    with tenant_context(tenant_a):
        assert ReportFolder.objects.count() == 1
    # Another member's folder cannot hold your report.
    other_folder = post(api_for(tenant_a, people["named"]), "/api/v1/report-folders/", {"name": "Theirs"}).json()
    refused = post(owner, "/api/v1/reports/", {"name": "R", "definition": SUMMARY, "folder": other_folder["id"]})
    assert refused.status_code == 400 and "folder" in refused.json()


def test_folder_ids_of_another_tenant_are_refused(tenant_a, tenant_b, admin, admin_of):
    alpha = api_for(tenant_a, admin)
    folder = post(alpha, "/api/v1/report-folders/", {"name": "Alpha", "sharing": "shared"}).json()
    beta = api_for(tenant_b, admin_of(tenant_b))
    assert beta.get(f"/api/v1/report-folders/{folder['id']}").status_code == 404
    assert (
        beta.patch(f"/api/v1/report-folders/{folder['id']}", {"name": "x"}, content_type="application/json").status_code
        == 404
    )
    assert beta.delete(f"/api/v1/report-folders/{folder['id']}").status_code == 404
    assert beta.get("/api/v1/report-folders/").json()["results"] == []
    refused = post(beta, "/api/v1/reports/", {"name": "R", "definition": SUMMARY, "folder": folder["id"]})
    assert refused.status_code == 400 and "folder" in refused.json()
    with tenant_context(tenant_a):
        assert ReportFolder.objects.get(pk=folder["id"]).name == "Alpha"


def test_the_folder_page_shares_a_folder_and_the_list_shows_it(tenant_a, client_for, team):
    people, roles, group = team
    web = client_for(tenant_a, people["owner"])
    form = web.get("/reports/folders/new/")
    assert form.status_code == 200
    page = form.content.decode()
    assert 'name="shared_members"' in page and 'name="shared_roles"' in page and 'name="shared_groups"' in page
    assert web.post("/reports/folders/new/", {"name": ""}).status_code == 400
    created = web.post(
        "/reports/folders/new/",
        {
            "name": "Quarterly",
            "sharing": "shared",
            "shared_roles": [str(roles[2].pk)],
            "shared_groups": [str(group.pk)],
        },
    )
    assert created.status_code == 302
    with tenant_context(tenant_a):
        folder = ReportFolder.objects.get(name="Quarterly")
        assert list(folder.shared_roles.values_list("pk", flat=True)) == [roles[2].pk]
        Report.objects.create(
            name="Q numbers", owner=people["owner"], module="deals", definition=SUMMARY, folder=folder
        )
    assert "Quarterly" in web.get("/reports/").content.decode()
    reader_page = client_for(tenant_a, people["by_role"]).get("/reports/").content.decode()
    assert "Quarterly" in reader_page and "Q numbers" in reader_page
    assert f"/reports/folders/{folder.pk}/" not in reader_page  # readers cannot edit it
    assert client_for(tenant_a, people["by_role"]).get(f"/reports/folders/{folder.pk}/").status_code == 403
    outsider_page = client_for(tenant_a, people["outsider"]).get("/reports/").content.decode()
    assert "Q numbers" not in outsider_page
    assert client_for(tenant_a, people["outsider"]).get(f"/reports/folders/{folder.pk}/").status_code == 404
    edited = web.post(f"/reports/folders/{folder.pk}/", {"name": "Quarterly", "sharing": "private"})
    assert edited.status_code == 302
    assert "Q numbers" not in client_for(tenant_a, people["by_role"]).get("/reports/").content.decode()


def test_deleting_the_only_role_or_group_shared_with_shares_with_nobody_not_everyone(
    tenant_a, tenant_b, admin, admin_of, team
):
    from crm_apps.access.services import group_delete, role_delete

    people, roles, group = team
    owner = api_for(tenant_a, people["owner"])
    clients = {name: api_for(tenant_a, m) for name, m in people.items()}
    folder = post(
        owner, "/api/v1/report-folders/", {"name": "Group only", "sharing": "shared", "shared_groups": [group.pk]}
    ).json()
    assert folder["audience"] == "listed"
    in_folder = post(owner, "/api/v1/reports/", {"name": "Filed", "definition": SUMMARY, "folder": folder["id"]}).json()
    by_role = post(
        owner,
        "/api/v1/reports/",
        {"name": "Role only", "definition": SUMMARY, "sharing": "shared", "shared_roles": [roles[2].pk]},
    ).json()
    everyone = post(
        owner, "/api/v1/reports/", {"name": "All", "definition": SUMMARY, "sharing": "shared", "audience": "everyone"}
    ).json()
    assert by_role["audience"] == "listed" and everyone["audience"] == "everyone"
    assert clients["grouped"].get(f"/api/v1/reports/{in_folder['id']}/run").status_code == 200
    assert clients["by_role"].get(f"/api/v1/reports/{by_role['id']}/run").status_code == 200
    with tenant_context(tenant_a):
        group_delete(actor=admin, group=group, transfer_to=admin)
        role_delete(actor=admin, role=roles[2], transfer_to=roles[4])
    for name in ("named", "by_role", "grouped", "outsider"):
        assert clients[name].get(f"/api/v1/reports/{in_folder['id']}/run").status_code == 404, name
        assert clients[name].get(f"/api/v1/reports/{by_role['id']}/run").status_code == 404, name
        assert clients[name].get(f"/api/v1/report-folders/{folder['id']}").status_code == 404, name
        assert listed(clients[name]) == {everyone["id"]}, name  # "everyone" chosen explicitly stays everyone
    assert owner.get(f"/api/v1/reports/{in_folder['id']}/run").status_code == 200
    assert api_for(tenant_b, admin_of(tenant_b)).get(f"/api/v1/reports/{everyone['id']}").status_code == 404


def test_the_audience_is_explicit_and_checked(tenant_a, admin, team):
    people, _roles, _group = team
    owner = api_for(tenant_a, people["owner"])
    nobody = post(owner, "/api/v1/report-folders/", {"name": "X", "sharing": "shared", "audience": "listed"})
    assert nobody.status_code == 400 and "shared_members" in nobody.json()
    unknown = post(owner, "/api/v1/reports/", {"name": "R", "definition": SUMMARY, "audience": "world"})
    assert unknown.status_code == 400 and "audience" in unknown.json()
    with tenant_context(tenant_a):
        assert not ReportFolder.objects.exists() and not Report.objects.exists()
    folder = post(owner, "/api/v1/report-folders/", {"name": "Open", "sharing": "shared"}).json()
    assert folder["audience"] == "everyone"  # nothing listed, no audience sent: the API's original meaning


def test_existing_rows_keep_their_audience_through_the_migration(tenant_a, admin, team):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("crm_apps.reports.migrations.0004_sharing_audience")
    people, roles, _group = team
    with tenant_context(tenant_a):
        open_to_all = Report.objects.create(
            name="Old open", owner=people["owner"], module="deals", definition=SUMMARY, sharing="shared"
        )
        to_a_role = Report.objects.create(
            name="Old role", owner=people["owner"], module="deals", definition=SUMMARY, sharing="shared"
        )
        to_a_role.shared_roles.add(roles[2])
        folder = ReportFolder.objects.create(name="Old folder", owner=people["owner"], sharing="shared")
        migration.audience_from_lists(apps, None)
        assert Report.objects.get(pk=open_to_all.pk).audience == "everyone"
        assert Report.objects.get(pk=to_a_role.pk).audience == "listed"
        assert ReportFolder.objects.get(pk=folder.pk).audience == "everyone"


def test_the_list_and_the_report_page_say_shared_via_folder(tenant_a, client_for, team):
    people, _roles, _group = team
    owner = api_for(tenant_a, people["owner"])
    folder = post(
        owner, "/api/v1/report-folders/", {"name": "Team", "sharing": "shared", "shared_members": [people["named"].pk]}
    ).json()
    report = post(owner, "/api/v1/reports/", {"name": "Filed", "definition": SUMMARY, "folder": folder["id"]}).json()
    assert report["sharing"] == "private"
    for who in ("owner", "named"):
        web = client_for(tenant_a, people[who])
        listing = web.get("/reports/").content.decode()
        assert "<td data-report-sharing>Shared via folder</td>" in listing, who
        assert "Shared via folder" in web.get(f"/reports/{report['id']}/").content.decode(), who
    own = post(owner, "/api/v1/reports/", {"name": "Loose", "definition": SUMMARY}).json()
    own_page = client_for(tenant_a, people["owner"]).get(f"/reports/{own['id']}/").content.decode()
    assert "data-report-sharing>Private</p>" in own_page


def test_a_report_shared_on_its_own_does_not_reveal_its_private_folder(tenant_a, client_for, team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    people, _roles, _group = team
    owner = api_for(tenant_a, people["owner"])
    secret = post(owner, "/api/v1/report-folders/", {"name": "Secret plans"}).json()
    post(
        owner,
        "/api/v1/reports/",
        {
            "name": "Shown alone",
            "definition": SUMMARY,
            "folder": secret["id"],
            "sharing": "shared",
            "shared_members": [people["named"].pk],
        },
    )
    reader = client_for(tenant_a, people["named"])
    page = reader.get("/reports/").content.decode()
    assert "Shown alone" in page and "Secret plans" not in page and f"folder-{secret['id']}" not in page
    assert people["owner"].user.email not in page

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert reader.get("/reports/").status_code == 200
        return len(captured)

    one = queries()
    # More folders of other owners, each shared with the reader, with reports: the same number of queries.
    for i in range(3):
        other = api_for(tenant_a, people["by_role"] if i % 2 else people["grouped"])
        shared = post(
            other,
            "/api/v1/report-folders/",
            {"name": f"Shared {i}", "sharing": "shared", "shared_members": [people["named"].pk]},
        ).json()
        post(other, "/api/v1/reports/", {"name": f"In {i}", "definition": SUMMARY, "folder": shared["id"]})
        post(
            other,
            "/api/v1/reports/",
            {"name": f"Alone {i}", "definition": SUMMARY, "sharing": "shared", "shared_members": [people["named"].pk]},
        )
    assert queries() == one


def test_a_folder_name_taken_by_a_concurrent_save_is_a_field_error(tenant_a, admin, team, monkeypatch, client_for):
    """Two saves of the same new name both pass the "already have one" check; the second insert hits the unique
    constraint: a 400 on `name`, not a 500, and nothing else is written."""
    from crm_apps.reports import services

    people, _roles, _group = team
    owner = api_for(tenant_a, people["owner"])
    assert post(owner, "/api/v1/report-folders/", {"name": "Race"}).status_code == 201
    monkeypatch.setattr(services, "_folder_name_taken", lambda folder, name: False)  # the other save's view
    lost = post(owner, "/api/v1/report-folders/", {"name": "Race", "sharing": "shared", "shared_roles": []})
    assert lost.status_code == 400 and "name" in lost.json()
    with tenant_context(tenant_a):
        assert ReportFolder.objects.filter(name="Race").count() == 1
    # The folder page says it next to the name.
    page = client_for(tenant_a, people["owner"]).post("/reports/folders/new/", {"name": "Race", "sharing": "private"})
    assert page.status_code == 400 and "You already have a folder of this name." in page.content.decode()
