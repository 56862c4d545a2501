"""vtiger's ticket values (stored in English, translated through the .po) and the SLA states."""

from django.utils.translation import gettext_noop as N_

OPEN = "Open"
IN_PROGRESS = "In Progress"
WAITING = "Wait For Response"
CLOSED = "Closed"

TICKET_STATUS = [N_("Open"), N_("In Progress"), N_("Wait For Response"), N_("Closed")]
TICKET_PRIORITY = [N_("Low"), N_("Normal"), N_("High"), N_("Urgent")]
TICKET_SEVERITY = [N_("Minor"), N_("Major"), N_("Feature"), N_("Critical")]
TICKET_CATEGORY = [N_("Big Problem"), N_("Small Problem"), N_("Other Problem")]
TICKET_CHANNEL = [N_("Web"), N_("Email"), N_("Phone"), N_("Portal"), N_("Chat")]

SLA_NONE = ""
SLA_ON_TRACK = "On track"
SLA_NEAR = "Near breach"
SLA_BREACHED = "Breached"
SLA_PAUSED = "Paused"
SLA_MET = "Met"
TICKET_SLA_STATUS = [N_("On track"), N_("Near breach"), N_("Breached"), N_("Paused"), N_("Met")]

CONTRACT_EXHAUSTED = "Contract exhausted"
CONTRACT_EXPIRED = "Contract expired"
TICKET_CONTRACT_FLAG = [N_("Contract exhausted"), N_("Contract expired")]

# Badge colours of the SLA states and contract warnings in lists (PicklistValue.color; admins may change them).
COLORS = {
    SLA_ON_TRACK: "#1a7f37",
    SLA_NEAR: "#b35900",
    SLA_BREACHED: "#c62828",
    SLA_PAUSED: "#5f6b7a",
    SLA_MET: "#1a7f37",
    CONTRACT_EXHAUSTED: "#c62828",
    CONTRACT_EXPIRED: "#b35900",
}
