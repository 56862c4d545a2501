"""Provisioning steps are registered by the apps that own them (tenants imports none of those apps)."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_exists

from tenants import provisioning
from tenants.models import Tenant, User
from tenants.services import tenant_signup

GOOD = {
    "organization": "Steps Ltd",
    "subdomain": "steps-ltd",
    "name": "Grace Hopper",
    "email": "grace@example.com",
    "password": "compiler-a0-1952",
}


def names(steps: list[provisioning.ProvisioningStep]) -> list[str]:
    return [s.name for s in steps]


def test_the_apps_register_their_steps_in_order():
    # given the installed apps (their AppConfig.ready() ran at start-up)
    # then a new workspace gets its first admin, then the CRM defaults, then (in public) its trial
    assert names(provisioning.steps(in_tenant_schema=True)) == [
        "access.first_admin",
        "access.builtin_labels",
        "engine.crm_defaults",
    ]
    assert names(provisioning.steps(in_tenant_schema=False)) == ["billing.trial"]
    # and a workspace restored from an archive only gets the public bookkeeping: its rows came with it
    assert names(provisioning.steps(in_tenant_schema=True, restore=True)) == []
    assert names(provisioning.steps(in_tenant_schema=False, restore=True)) == ["billing.trial"]


def test_steps_run_by_order_then_name_and_a_name_is_claimed_once(monkeypatch):
    monkeypatch.setattr(provisioning, "_steps", {})
    ran: list[str] = []

    def step(label: str):
        def run(workspace: provisioning.NewWorkspace) -> None:
            ran.append(f"{label}:{workspace.language}")

        return run

    late, early_b, early_a = step("late"), step("early-b"), step("early-a")
    provisioning.step_register(name="late", order=30, run=late, in_tenant_schema=True)
    provisioning.step_register(name="early-b", order=10, run=early_b, in_tenant_schema=True)
    provisioning.step_register(name="early-a", order=10, run=early_a, in_tenant_schema=True)
    provisioning.step_register(name="early-a", order=10, run=early_a, in_tenant_schema=True)  # ready() twice: fine

    with pytest.raises(provisioning.DuplicateStep):
        provisioning.step_register(name="late", order=1, run=step("other"), in_tenant_schema=True)

    provisioning.steps_run(
        workspace=provisioning.NewWorkspace(tenant=Tenant(schema_name="x"), admin=None, language="ru"),
        in_tenant_schema=True,
    )
    assert ran == ["early-a:ru", "early-b:ru", "late:ru"]


@pytest.mark.django_db
def test_a_failing_public_step_rolls_the_whole_workspace_back(public_client, monkeypatch):
    import billing.services

    def boom(**kwargs):
        raise RuntimeError("stripe down")

    monkeypatch.setattr(billing.services, "subscription_start_trial", boom)

    with pytest.raises(RuntimeError):
        tenant_signup(**GOOD)

    assert not Tenant.objects.filter(schema_name="steps-ltd").exists()
    assert not User.objects.filter(email="grace@example.com").exists()
    assert not schema_exists("steps-ltd")
