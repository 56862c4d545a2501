"""Schema-per-tenant layout (django-tenants): which apps live in `public`, which in tenant schemas."""

from saas import env

BASE_DOMAIN = env.BASE_DOMAIN
PUBLIC_PORT = env.PUBLIC_PORT
PUBLIC_SCHEME = env.PUBLIC_SCHEME

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "tenants.mfa",
    "billing",
    "marketplace.partners",
    "marketplace.catalog",
    # OAuth 2.0 apps (ADR 0045): django-oauth-toolkit with its models swapped for ours, all in `public`.
    "oauth2_provider",
    "marketplace.apps",
    "django_countries",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "frontend",
]

# Tables of these apps exist only inside tenant schemas, never in `public`.
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "crm_apps.access",
    "crm_apps.engine",
    "crm_apps.audit",
    "crm_apps.modules.organizations",
    "crm_apps.modules.contacts",
    "crm_apps.modules.leads",
    "crm_apps.modules.deals",
    "crm_apps.modules.campaigns",
    "crm_apps.modules.vendors",
    "crm_apps.inventory",
    "crm_apps.modules.quotes",
    "crm_apps.modules.salesorders",
    "crm_apps.modules.purchaseorders",
    "crm_apps.modules.invoices",
    "crm_apps.custom_modules",
    "crm_apps.home",
    "marketplace.installs",
    # Apps (manifest schema 2): frames, signed contexts, workflow actions, templates (ADR 0046).
    "marketplace.ui",
    "crm_apps.notifications",
    "crm_apps.modules.calendar",
    "crm_apps.modules.calls",
    "crm_apps.modules.documents",
    "crm_apps.dav",
    "crm_apps.vtiger",
    "crm_apps.onboarding",
    "crm_apps.imports",
    "crm_apps.mail",
    "crm_apps.finance",
    "crm_apps.modules.products",
    "crm_apps.modules.services",
    "crm_apps.modules.pricebooks",
    # Support (issue 20): shared SLA/business-hours/queue parts, then the four modules.
    "crm_apps.support",
    "crm_apps.modules.assets",
    "crm_apps.modules.faq",
    "crm_apps.modules.servicecontracts",
    "crm_apps.modules.tickets",
    "crm_apps.modules.projects",
    "crm_apps.modules.projecttasks",
    "crm_apps.modules.projectmilestones",
    # Capture (issue 23): web forms that create records from a website.
    "crm_apps.webforms",
    # Self-service (issue 23): the customer portal.
    "crm_apps.portal",
    # Automation (issue 22): workflows, tenant webhooks; on the modules' services.
    "crm_apps.automation",
    # Reports and dashboards (issue 21): over every module's spec, through the visibility filter.
    "crm_apps.reports",
    # Single sign-on (issue 26): a workspace's OIDC or SAML provider for its members.
    "crm_apps.sso",
]

INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
# Ready schemas the warm pool keeps (tenants/pool.py, ADR 0008); 0: nothing refills it, signups migrate.
TENANT_POOL_SIZE = env.TENANT_POOL_SIZE
# `migrate_schemas` also upgrades the pool's schemas after the tenants' (tenants.pool.migration_executor).
GET_EXECUTOR_FUNCTION = "tenants.pool.migration_executor"
# Set search_path once per connection and tenant switch, not before every query.
TENANT_LIMIT_SET_CALLS = True
# Per-tenant backup archives and uploads to restore (tenants/backup.py): never under MEDIA_ROOT.
TENANT_BACKUP_ROOT = env.TENANT_BACKUP_ROOT
PG_BIN_DIR = env.PG_BIN_DIR
TENANT_DOMAIN_MODEL = "tenants.Domain"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
ROOT_URLCONF = "saas.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "saas.urls_public"

MIDDLEWARE = [
    "saas.middleware.HealthCheckMiddleware",
    "saas.middleware.ReleaseApiResponseMiddleware",
    "tenants.middleware.TenantRoutingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "saas.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm_apps.access.middleware.MembershipMiddleware",
    "tenants.mfa.middleware.MfaGateMiddleware",
    "crm_apps.audit.middleware.AuditContextMiddleware",
    "tenants.middleware.TenantStatusMiddleware",
    "billing.middleware.BillingMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Subdomains nobody may sign up for.
RESERVED_SUBDOMAINS = frozenset(
    """www api admin app apps static media mail email smtp imap pop ftp sftp public root support help
    status billing partners partner partner-portal marketplace docs blog dev test staging demo-admin
    login signup auth account accounts dashboard console operator operators cdn assets files
    webhook webhooks security abuse postmaster hostmaster webmaster ns ns1 ns2 mx autodiscover
    pricing about legal privacy terms""".split()
)
