"""A won deal becomes a project: organisation, contact and deal copied, the template's tasks scheduled from
the start date with their dependencies; anything else is refused with a field message and nothing made."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_tenants.utils import tenant_context

from crm_apps.access.services import profile_set_modules
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.deals.services import deal_close
from crm_apps.modules.projects.models import Project, ProjectTemplate
from crm_apps.modules.projects.services import project_create_from_deal, project_template_save
from crm_apps.modules.projecttasks.models import ProjectTask

pytestmark = pytest.mark.django_db

TEMPLATE = [
    {"name": "Kick-off", "offset_days": 0, "duration_days": 1, "hours": 4},
    {"name": "Set-up", "offset_days": 1, "duration_days": 5, "hours": "20.5", "depends_on": [0]},
    {"name": "Training", "offset_days": 6, "duration_days": 2, "depends_on": [0, 1]},
]


def _deal(actor, *, won=True):
    org = record_create(spec=registry.get("organizations"), actor=actor, data={"name": "Globex"})
    contact = record_create(
        spec=registry.get("contacts"), actor=actor, data={"last_name": "Simpson", "organization": org.pk}
    )
    deal = record_create(
        spec=registry.get("deals"),
        actor=actor,
        data={
            "name": "Globex rollout",
            "close_date": "2027-01-01",
            "organization": org.pk,
            "contact": contact.pk,
            "amount": "9000",
        },
    )
    if won:
        deal = deal_close(actor=actor, deal=deal, won=True)
    return deal


def test_a_won_deal_becomes_a_project_with_the_templates_tasks(tenant_a, admin_of):
    with tenant_context(tenant_a):
        actor = admin_of(tenant_a)
        deal = _deal(actor)
        template = project_template_save(actor=actor, name="Standard rollout", tasks=TEMPLATE)

        project = project_create_from_deal(
            actor=actor, deal_id=deal.pk, template_id=template.pk, start_date=dt.date(2027, 2, 1)
        )
        tasks = {t.name: t for t in ProjectTask.objects.filter(project=project)}

    assert (project.name, project.organization_id, project.contact_id, project.deal_id) == (
        "Globex rollout",
        deal.organization_id,
        deal.contact_id,
        deal.pk,
    )
    assert (project.status, project.start_date, project.target_end_date, str(project.budget)) == (
        "Initiated",
        dt.date(2027, 2, 1),
        dt.date(2027, 2, 8),
        "9000.00",
    )
    assert [
        (n, t.start_date, t.end_date, t.hours_planned) for n, t in sorted(tasks.items(), key=lambda i: i[1].start_date)
    ] == [
        ("Kick-off", dt.date(2027, 2, 1), dt.date(2027, 2, 1), 4),
        ("Set-up", dt.date(2027, 2, 2), dt.date(2027, 2, 6), Decimal("20.50")),
        ("Training", dt.date(2027, 2, 7), dt.date(2027, 2, 8), None),
    ]
    assert tasks["Set-up"].depends_on == [tasks["Kick-off"].pk]
    assert tasks["Training"].depends_on == [tasks["Kick-off"].pk, tasks["Set-up"].pk]


def test_only_a_won_deal_the_member_sees_and_an_existing_template_are_accepted(tenant_a, admin_of, member):
    with tenant_context(tenant_a):
        actor = admin_of(tenant_a)
        open_deal = _deal(actor, won=False)
        won = _deal(actor)

        with pytest.raises(ValidationError) as not_won:
            project_create_from_deal(actor=actor, deal_id=open_deal.pk)
        with pytest.raises(ValidationError) as unknown:
            project_create_from_deal(actor=actor, deal_id="5b7e0c86-3c0b-4f0e-9a0e-000000000000")
        with pytest.raises(ValidationError) as no_template:
            project_create_from_deal(actor=actor, deal_id=won.pk, template_id=999)

        assert not_won.value.message_dict == {"deal": ["Only a won deal can become a project."]}
        assert unknown.value.message_dict == {"deal": ["Choose an existing record."]}
        assert no_template.value.message_dict == {"template": ["Choose an existing template."]}
        assert Project.objects.count() == 0


def test_a_member_who_may_not_create_projects_is_refused(tenant_a, admin_of, member):
    with tenant_context(tenant_a):
        admin = admin_of(tenant_a)
        seller = member(tenant_a)
        profile_set_modules(
            actor=admin,
            profile=seller.role.profiles.first(),
            rights={"projects": {"view": True, "create": False, "edit": False, "delete": False}},
        )
        deal = _deal(admin)

        with pytest.raises(PermissionDenied):
            project_create_from_deal(actor=seller, deal_id=deal.pk)

        assert Project.objects.count() == 0


def test_the_api_and_the_deal_page_button_create_the_project(client_for, tenant_a, tenant_b, admin_of):
    actor = admin_of(tenant_a)
    with tenant_context(tenant_a):
        deal = _deal(actor)
    api = client_for(tenant_a, actor)

    page = api.get(f"/m/deals/{deal.pk}/")
    created = api.post(
        "/api/v1/projects/from-deal",
        {"deal": str(deal.pk), "start_date": "2027-03-01"},
        content_type="application/json",
    )
    bad_date = api.post(
        "/api/v1/projects/from-deal", {"deal": str(deal.pk), "start_date": "soon"}, content_type="application/json"
    )
    posted = api.post(f"/projects/from-deal/{deal.pk}/")
    elsewhere = client_for(tenant_b, admin_of(tenant_b)).post(
        "/api/v1/projects/from-deal", {"deal": str(deal.pk)}, content_type="application/json"
    )

    assert "Create project" in page.content.decode()
    assert created.status_code == 201
    assert created.json()["deal"] == str(deal.pk) and created.json()["start_date"] == "2027-03-01"
    assert bad_date.status_code == 400 and bad_date.json() == {"start_date": ["Enter a valid date."]}
    assert posted.status_code == 302 and posted["Location"].startswith("/m/projects/")
    assert elsewhere.status_code == 400 and elsewhere.json() == {"deal": ["Choose an existing record."]}
    with tenant_context(tenant_a):
        assert Project.objects.filter(deal=deal).count() == 2


def test_templates_are_validated_and_kept_by_admins_only(tenant_a, admin_of, member, client_for):
    with tenant_context(tenant_a):
        admin = admin_of(tenant_a)
        with pytest.raises(ValidationError) as bad:
            project_template_save(
                actor=admin,
                name="",
                tasks=[{"name": "", "offset_days": -1}, {"name": "B", "depends_on": [1]}],
            )
        with pytest.raises(PermissionDenied):
            project_template_save(actor=member(tenant_a), name="Mine", tasks=TEMPLATE)

    assert bad.value.message_dict == {
        "name": ["Enter a name of at most 100 characters."],
        "tasks.0.name": ["Enter a name of at most 200 characters."],
        "tasks.0.offset_days": ["The offset is 0 to 3650 days, the duration 1 to 3650 days."],
        "tasks.1.depends_on": ["A task may depend only on tasks listed before it."],
    }
    api = client_for(tenant_a, admin_of(tenant_a))
    created = api.post(
        "/api/v1/project-templates/", {"name": "Std", "tasks": TEMPLATE}, content_type="application/json"
    )
    listed = api.get("/api/v1/project-templates/")
    page = api.post(
        "/settings/modules/projects/templates/",
        {"name": "From the page", "tasks": "Kick-off; 0; 1; 4\nTraining; 2; 2; ; 1"},
    )
    with tenant_context(tenant_a):
        from_page = ProjectTemplate.objects.get(name="From the page").tasks
    assert created.status_code == 201 and created.json()["tasks"][1]["hours"] == "20.5"
    assert [t["name"] for t in listed.json()["results"]] == ["Std"]
    assert page.status_code == 302
    assert from_page == [
        {"name": "Kick-off", "offset_days": 0, "duration_days": 1, "hours": "4", "depends_on": []},
        {"name": "Training", "offset_days": 2, "duration_days": 2, "hours": None, "depends_on": [0]},
    ]
    assert client_for(tenant_a, member(tenant_a)).get("/settings/modules/projects/templates/").status_code == 403
