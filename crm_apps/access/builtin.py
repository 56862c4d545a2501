"""The names of the roles, profiles and groups every workspace starts with (migration 0005), marked for
translation: provisioning labels them in every language (saas/value_labels.py) and stores
profile descriptions in the workspace's language."""

from __future__ import annotations

from django.utils.translation import gettext_noop as N_

from crm_apps.access.models import Group, Profile, Role
from saas.value_labels import label_in, labels_of

ROLE_NAMES = [N_("Organisation"), N_("CEO"), N_("Vice President"), N_("Sales Manager"), N_("Sales Person")]
PROFILE_NAMES = [N_("Administrator"), N_("Sales"), N_("Support"), N_("Guest")]
PROFILE_DESCRIPTIONS = [N_("Everything, in every module"), N_("Sales team"), N_("Support team"), N_("Read only")]
GROUP_NAMES = [N_("Team Selling"), N_("Marketing Group"), N_("Support Group")]


def access_builtin_labels_install(*, language: str) -> None:
    """Label the built-in roles, profiles and groups in every language (those without labels yet)."""
    for model, names in ((Role, ROLE_NAMES), (Profile, PROFILE_NAMES), (Group, GROUP_NAMES)):
        for row in model.objects.filter(name__in=names, labels={}):
            row.labels = labels_of(row.name)
            row.save(update_fields=["labels"])
    for profile in Profile.objects.filter(description__in=PROFILE_DESCRIPTIONS):
        translated = label_in(profile.description, language)
        if translated != profile.description:
            profile.description = translated
            profile.save(update_fields=["description"])
