"""Default picklist values of services (vtiger's Services package manifest), marked for translation."""

from django.utils.translation import gettext_noop as N_

SERVICE_CATEGORY = [N_("Support"), N_("Installation"), N_("Migration"), N_("Customization"), N_("Training")]
SERVICE_USAGE_UNIT = [N_("Hours"), N_("Days"), N_("Incidents")]
