#!/bin/sh
# Entrypoint of the CRM image: one image, four roles.
#
#   web      gunicorn on 0.0.0.0:8000 (the image's default CMD runs the same command)
#   worker   Celery worker           (extra arguments are passed on, e.g. `worker --concurrency 8`)
#   beat     Celery beat             (run exactly ONE per deployment; the schedule is in the database)
#   migrate  migrate_schemas --shared, then migrate_tenants (one-shot; run before rolling out a release)
#
# Anything else is executed as given, e.g. `python manage.py shell` or the default gunicorn CMD.
set -eu

cd /app

mode="${1:-web}"
if [ "$#" -gt 0 ]; then shift; fi

case "$mode" in
    web|worker|beat)
        # Refuse a pooler that shares server connections (PgBouncer transaction mode): tenants' schemas
        # would mix (tenants/pooling.py, docs/deployment.md).
        python manage.py check --database default --tag database --fail-level ERROR
        ;;
esac

case "$mode" in
    web)
        exec gunicorn saas.wsgi:application --bind 0.0.0.0:8000 "$@"
        ;;
    worker)
        # Without --concurrency Celery starts one process per host CPU, not per container limit.
        exec celery -A saas worker --loglevel INFO --concurrency 4 "$@"
        ;;
    beat)
        exec celery -A saas beat --loglevel INFO "$@"
        ;;
    migrate)
        python manage.py migrate_schemas --shared --noinput "$@"
        # Tenants and pool schemas: SQL planned once, parallel, resumable (ADR 0009).
        exec python manage.py migrate_tenants
        ;;
    *)
        exec "$mode" "$@"
        ;;
esac
