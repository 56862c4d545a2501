from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    """Extensions in `public`: listings, versions and their review, ratings, licences, sales, commission."""

    name = "marketplace.catalog"
    label = "catalog"
    verbose_name = _("Extensions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing.events import register_kind, register_unmarked
        from billing.seats import register_seat_follower
        from marketplace.catalog import payments

        register_kind(payments.KIND, payments.HANDLERS)
        # A subscription invoice's charge, refunds and disputes carry none of our metadata: they are found
        # by their ids.
        register_unmarked(payments.UNMARKED)
        register_seat_follower(payments.extension_seats_follow)
