from saas import env

DATABASES = {"default": env.database_config()}
# Persistent connections (no connect per request), checked before reuse after an idle request gap.
DATABASES["default"]["CONN_MAX_AGE"] = env.DATABASE_CONN_MAX_AGE
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
