from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "crm_apps.mail"
    label = "mail"
    verbose_name = _("Email")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.engine.extensions import selection_action_add
        from crm_apps.engine.spec import Action
        from crm_apps.mail import hooks  # noqa: F401
        from crm_apps.mail.matching import email_fields

        # "Email" for the selected records of every module with an email field (contacts, leads...).
        selection_action_add(
            Action(key="email", label=_("Email"), url_name="mail:bulk_module", requires="view"),
            applies=lambda spec: bool(email_fields(spec)),
        )
