"""vtiger's Projects values (its Project/ProjectTask/ProjectMilestone manifests). vtiger's task status
"Open" is "Not started" here: the English word reads as a verb in translations."""

from django.utils.translation import gettext_noop as N_

PROJECT_STATUS = [
    N_("Prospecting"),
    N_("Initiated"),
    N_("In progress"),
    N_("Waiting for feedback"),
    N_("On hold"),
    N_("Completed"),
    N_("Delivered"),
    N_("Archived"),
]
PROJECT_TYPE = [N_("Administrative"), N_("Operative"), N_("Other")]
PROJECT_PRIORITY = [N_("Low"), N_("Normal"), N_("High")]
TASK_STATUS = [N_("Not started"), N_("In progress"), N_("Completed"), N_("Deferred"), N_("Canceled")]
# Statuses whose tasks count as done (100 %) in the roll-up whatever their own progress says.
TASK_DONE = "Completed"
# Statuses left out of the roll-up: work nobody will do.
TASK_DROPPED = ("Canceled",)
