from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import schema_context

from crm_apps.access.models import Invitation, Member
from crm_apps.access.services import invitation_create, member_create
from crm_apps.engine.sample_data import sample_data_create
from tenants.models import Tenant, User
from tenants.services import tenant_signup, tenant_url, workspace_create

DEMO_SLUG = "demo"
# The same demo admin also has a workspace created in Russian: its stages, statuses and roles are Russian.
DEMO_RU_SLUG = "demo-ru"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-crm-2026"
COLLEAGUES = [
    ("Olivia Bennett", "olivia.bennett@example.com", "en", "Europe/London"),
    ("Dmitri Sokolov", "dmitri.sokolov@example.com", "ru", "Europe/Moscow"),
    ("Priya Raman", "priya.raman@example.com", "en", "Asia/Kolkata"),
    ("Lucas Moreau", "lucas.moreau@example.com", "en", "Europe/Paris"),
]


class Command(BaseCommand):
    help = "Create (once) the demo tenant 'demo' with a demo admin and sample colleagues."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(schema_name=DEMO_SLUG).first()
        if tenant is None:
            existing = User.objects.filter(email=DEMO_EMAIL).first()
            if existing is not None:
                tenant = workspace_create(
                    user=existing, organization="Northwind Traders", subdomain=DEMO_SLUG, language="en"
                ).tenant
            else:
                tenant = tenant_signup(
                    organization="Northwind Traders",
                    subdomain=DEMO_SLUG,
                    name="Dana Whitfield",
                    email=DEMO_EMAIL,
                    password=DEMO_PASSWORD,
                    language="en",
                ).tenant
            self._seed(tenant)
            # The demo shows every feature and is never dunned: a complimentary Business plan.
            from billing.models import Plan
            from billing.services import subscription_grant_complimentary

            business = Plan.objects.filter(code="business").first()
            if business is not None:
                subscription_grant_complimentary(
                    operator=None, tenant=tenant, plan=business, reason="Demo workspace of make run"
                )
        self._russian_workspace()
        if not options["quiet"]:
            self.stdout.write(f"Demo tenant: {tenant_url(DEMO_SLUG)}  login {DEMO_EMAIL} / {DEMO_PASSWORD}")
            self.stdout.write(
                f"  in Russian: {COLLEAGUES[1][1]} / {DEMO_PASSWORD} (a member whose language is Russian), or the "
                f"Russian workspace {tenant_url(DEMO_RU_SLUG)} with {DEMO_EMAIL} / {DEMO_PASSWORD}"
            )

    def _russian_workspace(self) -> None:
        """A second demo workspace created in Russian (built-in values in Russian), with sample data."""
        if Tenant.objects.filter(schema_name=DEMO_RU_SLUG).exists():
            return
        user = User.objects.get(email=DEMO_EMAIL)
        tenant = workspace_create(user=user, organization="Рога и копыта", subdomain=DEMO_RU_SLUG, language="ru").tenant
        with schema_context(tenant.schema_name):
            admin = Member.objects.get(user=user)
            sample_data_create(admin=admin, members=[])

    def _seed(self, tenant: Tenant) -> None:
        with schema_context(tenant.schema_name):
            admin = Member.objects.get(user__email=DEMO_EMAIL)
            for name, email, language, tz in COLLEAGUES:
                user = User.objects.filter(email=email).first() or User.objects.create_user(
                    email, DEMO_PASSWORD, name=name
                )
                member = member_create(tenant=tenant, user=user, language=language)
                member.timezone = tz
                member.save(update_fields=["timezone"])
            if not Invitation.objects.exists():
                invitation_create(actor=admin, email="new.hire@example.com")
            colleagues = list(Member.objects.exclude(pk=admin.pk))
            sample_data_create(admin=admin, members=colleagues)
            _notifications_sample(admin=admin, colleagues=colleagues)


def _notifications_sample(*, admin: Member, colleagues: list[Member]) -> None:
    """A first morning for the demo admin, made through the real services: a colleague mentions them, gives
    them a contact and moves a deal they follow, so the bell and the home page have something to show."""
    from crm_apps.engine import registry, selectors, services
    from crm_apps.modules.deals.services import deal_set_stage

    deals, contacts = registry.get("deals"), registry.get("contacts")
    for colleague in colleagues:
        deal = selectors.list_queryset(spec=deals, actor=colleague).filter(owner=colleague).order_by("number").first()
        contact = (
            selectors.list_queryset(spec=contacts, actor=colleague).filter(owner=colleague).order_by("number").first()
        )
        if deal is None or contact is None:
            continue
        services.follow_set(spec=deals, actor=admin, record=deal, following=True)
        later = deal.pipeline.stages.filter(position__gt=deal.stage.position, is_won=False, is_lost=False)
        next_stage = later.order_by("position").first()
        if next_stage is not None:
            deal_set_stage(actor=colleague, deal=deal, stage_id=next_stage.pk)
        services.comment_add(
            spec=deals,
            actor=colleague,
            record=deal,
            body=f"@{admin.user.email} could you join the call with them on Thursday?",
        )
        services.record_update(spec=contacts, actor=colleague, record=contact, data={"owner": admin.pk})
        return
