from django.apps import AppConfig


class ChildTestConfig(AppConfig):
    name = "crm_apps.engine.tests.childtest"
    label = "childtest"
    verbose_name = "Child table test module"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm_apps.engine.tests.childtest import module  # noqa: F401
