from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("Tenants and identity")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from tenants import pooling  # noqa: F401  (registers the transaction-pooling check)
        from tenants.models import Domain, Tenant

        # Not domain logic: whatever saves a tenant or a domain (services, the operator admin, a shell),
        # every process's remembered hosts must follow (tenants.runtime.tenant_for_host).
        for model in (Tenant, Domain):
            post_save.connect(_hosts_changed, sender=model, dispatch_uid=f"hosts-changed-save-{model.__name__}")
            post_delete.connect(_hosts_changed, sender=model, dispatch_uid=f"hosts-changed-delete-{model.__name__}")


def _hosts_changed(**kwargs: object) -> None:
    from tenants.runtime import domains_changed_on_commit

    domains_changed_on_commit()
