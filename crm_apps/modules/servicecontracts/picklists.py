from django.utils.translation import gettext_noop as N_

CONTRACT_TYPE = [N_("Support"), N_("Services"), N_("Administrative")]
CONTRACT_STATUS = [N_("Undefined"), N_("In Planning"), N_("In Progress"), N_("On Hold"), N_("Complete"), N_("Archived")]
CONTRACT_PRIORITY = [N_("Low"), N_("Normal"), N_("High")]
TRACKING_UNIT = [N_("None"), N_("Hours"), N_("Days"), N_("Incidents")]

NEAR_EXHAUSTION = "Near exhaustion"
EXHAUSTED = "Exhausted"
EXPIRED = "Expired"
USAGE_WARNING = [N_("Near exhaustion"), N_("Exhausted"), N_("Expired")]
# A contract is "near exhaustion" once this share of its units is used.
NEAR_SHARE = 80

COMPLETE = "Complete"
ARCHIVED = "Archived"
