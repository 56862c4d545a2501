"""Dunning driven by time (an explicit clock, no sleeping): past_due -> banner and emails -> read_only
-> suspended, and paying restores everything at once. Emails go to the tenant's admins after commit,
once per occurrence, even when Stripe repeats itself. Nothing is deleted; the other tenant is untouched."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.dunning import dunning_run
from billing.models import BillingNotice, Subscription, SubscriptionChange
from billing.tests.conftest import event
from billing.tests.stripe_server import subscription_object
from billing.tests.test_webhooks import _invoice, post, subscribe
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from tenants.models import Tenant, TenantStatus
from tenants.services import tenant_set_status

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def fresh(tenant: Tenant) -> Tenant:
    return Tenant.objects.get(pk=tenant.pk)


def run(capture: Any, now: Any) -> dict[str, int]:
    with capture(execute=True):
        return dunning_run(now=now)


def fail_payment(
    client: Any, capture: Any, tenant: Tenant, *, event_id: str = "evt_fail", invoice: str = "in_1"
) -> None:
    t = int(time.time())
    subscribe(tenant, status="active", stripe_subscription_id="sub_alpha", stripe_updated=t - 100)
    post(client, event(event_id, "invoice.payment_failed", _invoice(invoice, "open"), created=t - 50), capture)


def emails_to(address: str) -> list[str]:
    return [str(m.subject) for m in mail.outbox if address in m.to]


def overdue_since(tenant: Tenant) -> datetime:
    since = Subscription.objects.get(tenant=tenant).past_due_since
    assert since is not None
    return since


def test_a_failed_payment_shows_a_banner_and_emails_each_admin_once(
    public_client, webhook_secret, tenant_a, tenant_b, admin_of, member, client_for, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    colleague = member(tenant_a)
    fail_payment(public_client, django_capture_on_commit_callbacks, tenant_a)
    # Stripe retries the card: another event about the same invoice sends no second email.
    post(
        public_client,
        event("evt_fail_retry", "invoice.payment_failed", _invoice("in_1", "open"), created=int(time.time()) - 40),
        django_capture_on_commit_callbacks,
    )

    sub = Subscription.objects.get(tenant=tenant_a)
    assert sub.status == "past_due" and sub.past_due_since is not None
    assert fresh(tenant_a).billing_stage == "past_due"
    assert fresh(tenant_a).status == TenantStatus.ACTIVE
    assert emails_to(admin.user.email) == ["Payment failed for Alpha Ltd"]
    assert emails_to(colleague.user.email) == []
    assert "25.00 USD" in mail.outbox[0].body and "/settings/billing/" in mail.outbox[0].body
    assert list(BillingNotice.objects.values_list("kind", "occurrence")) == [("payment_failed", "in_1")]

    admin_page = client_for(tenant_a, admin).get("/").content.decode()
    member_page = client_for(tenant_a, colleague).get("/").content.decode()
    beta_page = client_for(tenant_b, admin_of(tenant_b)).get("/").content.decode()
    assert "A payment for this workspace is overdue" in admin_page and 'href="/settings/billing/"' in admin_page
    assert "A payment for this workspace is overdue" in member_page
    assert "Your administrators have been notified" in member_page
    assert "overdue" not in beta_page


def test_after_the_grace_period_the_workspace_is_read_only_reading_and_exporting_still_work(
    public_client,
    webhook_secret,
    tenant_a,
    tenant_b,
    member,
    client_for,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.BILLING_GRACE_DAYS = 7
    person = member(tenant_a)
    with schema_context(tenant_a.schema_name):
        record_create(spec=registry.get("contacts"), actor=person, data={"last_name": "Kept"})
    fail_payment(public_client, django_capture_on_commit_callbacks, tenant_a)
    since = overdue_since(tenant_a)

    assert run(django_capture_on_commit_callbacks, since + 7 * DAY - timedelta(minutes=1)).get("read_only") is None
    assert fresh(tenant_a).status == TenantStatus.ACTIVE
    outcome = run(django_capture_on_commit_callbacks, since + 7 * DAY)

    assert outcome["read_only"] == 1
    tenant = fresh(tenant_a)
    assert (tenant.status, tenant.billing_stage) == (TenantStatus.READ_ONLY, "read_only")
    client = client_for(tenant_a, person)
    write = client.post("/m/contacts/new/", {"last_name": "Refused"})
    assert write.status_code == 403
    assert "because a payment is overdue" in write.content.decode()
    assert client.get("/m/contacts/").status_code == 200
    export = client.get("/m/contacts/export.csv")
    assert export.status_code == 200 and b"Kept" in b"".join(export.streaming_content)
    api_write = client.post("/api/v1/contacts/", {"last_name": "No"}, content_type="application/json")
    assert api_write.status_code == 403 and api_write.json()["upgrade_url"] == "/settings/billing/"
    assert fresh(tenant_b).status == TenantStatus.ACTIVE
    history = list(
        SubscriptionChange.objects.filter(subscription__tenant=tenant_a)
        .order_by("id")
        .values_list("source", "to_status", "to_stage")
    )
    assert history[-2:] == [("stripe", "past_due", "past_due"), ("dunning", "past_due", "read_only")]


def test_after_the_further_period_it_is_suspended_only_the_billing_page_works_for_admins(
    public_client, webhook_secret, tenant_a, admin_of, member, client_for, settings, django_capture_on_commit_callbacks
):
    settings.BILLING_GRACE_DAYS = 7
    settings.BILLING_SUSPEND_AFTER_DAYS = 14
    admin, colleague = admin_of(tenant_a), member(tenant_a)
    with schema_context(tenant_a.schema_name):
        record_create(spec=registry.get("contacts"), actor=colleague, data={"last_name": "Kept"})
        before = registry.get("contacts").model._base_manager.count()
    fail_payment(public_client, django_capture_on_commit_callbacks, tenant_a)
    since = overdue_since(tenant_a)
    run(django_capture_on_commit_callbacks, since + 8 * DAY)
    assert run(django_capture_on_commit_callbacks, since + 20 * DAY).get("suspended") is None

    outcome = run(django_capture_on_commit_callbacks, since + 21 * DAY)

    assert outcome["suspended"] == 1
    assert (fresh(tenant_a).status, fresh(tenant_a).billing_stage) == (TenantStatus.SUSPENDED, "suspended")
    admin_client, member_client = client_for(tenant_a, admin), client_for(tenant_a, colleague)
    billing = admin_client.get("/settings/billing/")
    assert (
        billing.status_code == 200
        and "This workspace is suspended until the overdue payment" in billing.content.decode()
    )
    home = admin_client.get("/")
    assert home.status_code == 403 and 'href="/settings/billing/"' in home.content.decode()
    refused = member_client.get("/m/contacts/")
    assert refused.status_code == 403
    assert "Please ask an administrator" in refused.content.decode()
    assert member_client.get("/settings/billing/").status_code == 403  # the billing views' own rule
    api = member_client.get("/api/v1/me")
    assert api.status_code == 403 and api.json()["code"] == "billing_suspended"
    assert client_for(tenant_a).get("/accounts/login/").status_code == 200
    with schema_context(tenant_a.schema_name):
        assert registry.get("contacts").model._base_manager.count() == before  # nothing was deleted
    # A later run changes nothing more.
    assert run(django_capture_on_commit_callbacks, since + 60 * DAY).get("suspended") is None


def test_paying_restores_everything_at_once_and_emails_the_recovery_once(
    public_client, webhook_secret, tenant_a, admin_of, client_for, django_capture_on_commit_callbacks
):
    admin = admin_of(tenant_a)
    fail_payment(public_client, django_capture_on_commit_callbacks, tenant_a)
    since = overdue_since(tenant_a)
    run(django_capture_on_commit_callbacks, since + 30 * DAY)
    assert fresh(tenant_a).status == TenantStatus.SUSPENDED

    paid = event("evt_paid", "invoice.paid", _invoice("in_1", "paid"), created=int(time.time()) - 10)
    post(public_client, paid, django_capture_on_commit_callbacks)
    post(public_client, {**paid, "id": "evt_paid_again"}, django_capture_on_commit_callbacks)

    sub = Subscription.objects.get(tenant=tenant_a)
    tenant = fresh(tenant_a)
    assert (sub.status, sub.past_due_since, sub.restricted_by_billing) == ("active", None, False)
    assert (tenant.status, tenant.billing_stage) == (TenantStatus.ACTIVE, "")
    assert emails_to(admin.user.email) == [
        "Payment failed for Alpha Ltd",
        "Payment received: Alpha Ltd is fully available again",
    ]
    home = client_for(tenant_a, admin).get("/")
    assert home.status_code == 200 and "overdue" not in home.content.decode()


def test_a_status_an_operator_chose_is_never_changed_by_dunning(
    public_client, webhook_secret, tenant_a, django_capture_on_commit_callbacks
):
    fail_payment(public_client, django_capture_on_commit_callbacks, tenant_a)
    tenant_set_status(tenant=fresh(tenant_a), status=TenantStatus.READ_ONLY)  # by hand, for another reason
    since = overdue_since(tenant_a)

    run(django_capture_on_commit_callbacks, since + 30 * DAY)
    assert fresh(tenant_a).status == TenantStatus.READ_ONLY
    assert Subscription.objects.get(tenant=tenant_a).restricted_by_billing is False

    post(
        public_client,
        event("evt_paid", "invoice.paid", _invoice("in_1", "paid"), created=int(time.time()) - 10),
        django_capture_on_commit_callbacks,
    )
    assert fresh(tenant_a).status == TenantStatus.READ_ONLY  # still the operator's decision


# Trials ------------------------------------------------------------------------------------------------


def test_a_local_trial_gets_one_reminder_three_days_before_its_end(
    tenant_a, tenant_b, admin_of, django_capture_on_commit_callbacks
):
    now = timezone.now()
    Subscription.objects.filter(tenant=tenant_a).update(trial_end=now + 3 * DAY - timedelta(hours=1))
    Subscription.objects.filter(tenant=tenant_b).update(trial_end=now + 10 * DAY)

    first = run(django_capture_on_commit_callbacks, now)
    second = run(django_capture_on_commit_callbacks, now + timedelta(hours=1))

    assert (first["trial_reminders"], second["trial_reminders"]) == (1, 0)
    assert emails_to(admin_of(tenant_a).user.email) == ["Your trial of Alpha Ltd ends soon"]
    assert emails_to(admin_of(tenant_b).user.email) == []
    assert "Starter" in mail.outbox[0].body


def test_a_trial_that_ends_unpaid_takes_the_dunning_path(
    tenant_a, admin_of, client_for, settings, django_capture_on_commit_callbacks
):
    settings.BILLING_GRACE_DAYS = 7
    end = timezone.now() - timedelta(hours=1)
    Subscription.objects.filter(tenant=tenant_a).update(trial_end=end)

    outcome = run(django_capture_on_commit_callbacks, timezone.now())

    sub = Subscription.objects.get(tenant=tenant_a)
    assert outcome["trial_ended"] == 1
    assert (sub.status, sub.past_due_since) == ("past_due", end)
    assert fresh(tenant_a).billing_stage == "past_due"
    assert emails_to(admin_of(tenant_a).user.email) == ["Your trial of Alpha Ltd has ended"]
    run(django_capture_on_commit_callbacks, end + 7 * DAY)
    assert fresh(tenant_a).status == TenantStatus.READ_ONLY
    assert len(mail.outbox) == 1


def test_stripe_trial_will_end_emails_the_admins_once_even_when_repeated(
    public_client, webhook_secret, tenant_a, admin_of, django_capture_on_commit_callbacks
):
    t = int(time.time())
    trial_end = t + 3 * 86400
    subscribe(tenant_a, status="trialing", stripe_subscription_id="sub_alpha", stripe_updated=t - 100)
    obj = subscription_object("sub_alpha", customer="cus_alpha", status="trialing", trial_end=trial_end)

    post(
        public_client,
        event("evt_twe", "customer.subscription.trial_will_end", obj, created=t - 5),
        django_capture_on_commit_callbacks,
    )
    post(
        public_client,
        event("evt_twe_dup", "customer.subscription.trial_will_end", obj, created=t - 5),
        django_capture_on_commit_callbacks,
    )
    run(django_capture_on_commit_callbacks, timezone.now())  # the timers add nothing for a Stripe trial

    assert emails_to(admin_of(tenant_a).user.email) == ["Your trial of Alpha Ltd ends soon"]
    assert BillingNotice.objects.filter(tenant=tenant_a, kind="trial_ending").count() == 1


def test_the_beat_schedule_runs_dunning():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULE["billing-dunning"]["task"] == "billing.dunning_run_task"


def test_the_billing_page_tells_admins_when_each_step_comes(
    public_client, webhook_secret, tenant_a, admin_of, client_for, settings, django_capture_on_commit_callbacks
):
    settings.BILLING_GRACE_DAYS = 7
    settings.BILLING_SUSPEND_AFTER_DAYS = 14
    fail_payment(public_client, django_capture_on_commit_callbacks, tenant_a)
    since = overdue_since(tenant_a)

    page = client_for(tenant_a, admin_of(tenant_a)).get("/settings/billing/")

    dates = page.context["dunning"]
    assert (dates["since"], dates["read_only"], dates["suspended"]) == (since, since + 7 * DAY, since + 21 * DAY)
    assert "Read-only from" in page.content.decode() and "Suspended from" in page.content.decode()


def test_the_dunning_task_runs_in_public_and_reports_what_it_did(tenant_a, django_capture_on_commit_callbacks):
    from billing.tasks import dunning_run_task

    Subscription.objects.filter(tenant=tenant_a).update(trial_end=timezone.now() - timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):
        result = dunning_run_task.delay().get()

    assert result["trial_ended"] == 1
    assert Subscription.objects.get(tenant=tenant_a).status == "past_due"


def test_find_my_workspaces_still_lists_a_workspace_suspended_by_billing(tenant_a, tenant_b, admin_of):
    from tenants.selectors import workspaces_for_email

    email = admin_of(tenant_a).user.email
    Tenant.objects.filter(pk=tenant_a.pk).update(status=TenantStatus.SUSPENDED, billing_stage="suspended")
    assert [m.tenant.schema_name for m in workspaces_for_email(email=email)] == ["alpha"]

    Tenant.objects.filter(pk=tenant_a.pk).update(billing_stage="")  # suspended by an operator
    assert list(workspaces_for_email(email=email)) == []
