"""`python -m crm_apps.sso.tests.oidc_provider.serve`: migrate the provider's SQLite database, create the test
users and OAuth clients from the environment, then serve on 127.0.0.1:IDP_PORT until killed."""

from __future__ import annotations

import os


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm_apps.sso.tests.oidc_provider.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0, interactive=False)
    for spec in settings.IDP_USERS:  # type: ignore[misc]
        if not User.objects.filter(username=spec["username"]).exists():
            User.objects.create_user(spec["username"], spec["email"], spec["password"])
    for spec in settings.IDP_CLIENTS:  # type: ignore[misc]
        if not Application.objects.filter(client_id=spec["client_id"]).exists():
            Application.objects.create(
                name=spec["client_id"],
                client_id=spec["client_id"],
                client_secret=spec["client_secret"],
                client_type=Application.CLIENT_CONFIDENTIAL,
                authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
                redirect_uris=spec["redirect_uri"],
                skip_authorization=True,
                algorithm=Application.RS256_ALGORITHM,
            )
    call_command("runserver", f"127.0.0.1:{settings.PORT}", use_reloader=False, use_threading=True, skip_checks=True)  # type: ignore[misc]


if __name__ == "__main__":
    main()
