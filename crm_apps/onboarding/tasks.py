"""Loading sample data takes a few seconds: a Celery task in the tenant's schema does it."""

from __future__ import annotations

from crm_apps.access.models import Member
from crm_apps.onboarding.services import sample_data_load
from saas.celery import app
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="onboarding.sample_data_load_task")
def sample_data_load_task(member_id: int) -> dict[str, int]:
    """Load the sample data for the admin who asked for it (their rights are checked again)."""
    return sample_data_load(actor=Member.objects.get(pk=member_id))
