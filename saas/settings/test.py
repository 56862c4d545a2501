"""Test settings: the real services (PostgreSQL, Redis), a fast password hasher, emails kept in memory."""

from saas import env
from saas.settings import *

# Parallel test workers share one Redis: give each its own key prefix (tenants share names).
CACHES = {"default": {**CACHES["default"], "KEY_PREFIX": f"test-{env.TEST_WORKER}"}}
# Live-server threads must not keep connections open past their request (the test database is
# dropped at the end of the run).
DATABASES["default"]["CONN_MAX_AGE"] = 0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
# Nothing refills the pool behind the tests' back; conftest fills it once per session.
TENANT_POOL_SIZE = 0
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"auth": "1000/min", "signup": "1000/min", "api": "100000/min"},
}
# Tests never reach Stripe, whatever the environment says: billing tests point the SDK at a local
# fixture server (billing/tests/conftest.py) and set a key only there.
STRIPE_SECRET_KEY = ""
STRIPE_WEBHOOK_SECRET = ""
STRIPE_CONNECT_WEBHOOK_SECRET = ""
STRIPE_API_BASE = "http://127.0.0.1:9"
# A test-only module with a child table (orders and lines, crm_apps/engine/tests/childtest): it has its
# own migration and exists in the test tenants' schemas only (ADR 0018-child-tables).
TENANT_APPS = [*TENANT_APPS, "crm_apps.engine.tests.childtest"]
INSTALLED_APPS = [*INSTALLED_APPS, "crm_apps.engine.tests.childtest"]

# The vtiger migration tests read from a second workspace on the loopback live server.
VTIGER_ALLOW_PRIVATE = True
# Older console tests sign operators in with force_login and no second factor (tenants/mfa/tests set it on).
MFA_OPERATORS_REQUIRED = False

# The OAuth apps' tests and journeys redirect to the loopback live server.
OAUTH2_PROVIDER = {**OAUTH2_PROVIDER, "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"]}
