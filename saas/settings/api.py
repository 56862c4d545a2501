"""Django REST framework and the OpenAPI schema."""

from saas import env

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm_apps.access.api.authentication.TenantTokenAuthentication",
        # `Authorization: Bearer <token>` of an OAuth app (marketplace/apps, ADR 0045).
        "marketplace.apps.authentication.AppTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # JSON written by orjson (the same bytes as DRF's renderer), and DRF's browsable API.
    "DEFAULT_RENDERER_CLASSES": ["saas.renderers.FastJSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "DEFAULT_PERMISSION_CLASSES": ["crm_apps.access.api.permissions.IsTenantMember"],
    "DEFAULT_SCHEMA_CLASS": "saas.openapi.AutoSchema",
    # The plan's daily API quota per tenant (views that set their own throttles add it themselves).
    "DEFAULT_THROTTLE_CLASSES": ["billing.api.TenantDailyQuotaThrottle"],
    "DEFAULT_THROTTLE_RATES": {"auth": "20/min", "signup": "30/hour", "api": f"{env.API_TOKEN_RATE_PER_MINUTE}/min"},
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "EXCEPTION_HANDLER": "saas.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "saas.api.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Behind our proxy exactly one hop appends to X-Forwarded-For; otherwise trust only REMOTE_ADDR
    # (DRF would otherwise key throttles on a client-supplied header).
    "NUM_PROXIES": 1 if env.TRUST_X_FORWARDED_HOST else 0,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CRM platform API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "PREPROCESSING_HOOKS": ["crm_apps.engine.api.schema.expand_module_paths"],
    # Swagger UI's files come from the drf-spectacular-sidecar package, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set that several models share or that several fields call "status".
    "ENUM_NAME_OVERRIDES": {
        "MailSecurityEnum": "crm_apps.mail.models.Security",
        "EventStatusEnum": "crm_apps.modules.calendar.models.Event.Status",
        "TaskStatusEnum": "crm_apps.modules.calendar.models.Task.Status",
        "ImportStatusEnum": "crm_apps.imports.models.ImportJob.Status",
        "ExportStatusEnum": "crm_apps.imports.models.ExportJob.Status",
        "MailboxStatusEnum": "crm_apps.mail.models.Mailbox.Status",
    },
}

# Bodies above this size are refused with 400 before they reach a view.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Incoming-call popup streams per web process (crm_apps/modules/calls/live.py).
CALLS_SSE_MAX_STREAMS = env.CALLS_SSE_MAX_STREAMS

# The vtiger migration's source must be a public address unless this is on (crm_apps/vtiger/migration.py).
VTIGER_ALLOW_PRIVATE = env.VTIGER_ALLOW_PRIVATE
