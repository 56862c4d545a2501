"""Every tenant starts with vtiger's defaults: the role tree Organisation > CEO > Vice President >
Sales Manager > Sales Person, the profiles Administrator, Sales, Support and Guest, and the groups
Team Selling, Marketing Group and Support Group. Existing admins get the CEO role, other members
Sales Person (the default for new members). Nothing changes what anyone sees: every module stays
public until an admin makes it private."""

from django.db import migrations

PROFILES = {
    # name: (description, defaults view/create/edit/delete, privileges)
    "Administrator": (
        "Everything, in every module",
        (True, True, True, True),
        dict(view_all=True, edit_all=True, can_import=True, can_export=True, manage_settings=True,
             manage_members=True, manage_billing=True),
    ),
    "Sales": ("Sales team", (True, True, True, True), dict(can_import=True, can_export=True)),
    "Support": ("Support team", (True, True, True, True), dict(can_import=False, can_export=True)),
    "Guest": ("Read only", (True, False, False, False), dict(can_import=False, can_export=False)),
}
ROLES = [
    # name, parent name, profiles, default for new members
    ("Organisation", None, ["Administrator"], False),
    ("CEO", "Organisation", ["Administrator"], False),
    ("Vice President", "CEO", ["Sales"], False),
    ("Sales Manager", "Vice President", ["Sales"], False),
    ("Sales Person", "Sales Manager", ["Sales"], True),
]
GROUPS = [("Team Selling", "Sales Manager"), ("Marketing Group", None), ("Support Group", None)]


def install(apps, schema_editor):
    Profile = apps.get_model("access", "Profile")
    Role = apps.get_model("access", "Role")
    Group = apps.get_model("access", "Group")
    Member = apps.get_model("access", "Member")
    if Role.objects.exists():
        return
    profiles = {}
    for name, (description, defaults, privileges) in PROFILES.items():
        view, create, edit, delete = defaults
        profiles[name], _ = Profile.objects.get_or_create(
            name=name,
            defaults=dict(
                description=description, default_view=view, default_create=create, default_edit=edit,
                default_delete=delete, **privileges,
            ),
        )
    roles = {}
    for name, parent, profile_names, default in ROLES:
        parent_role = roles.get(parent)
        role = Role.objects.create(name=name, parent=parent_role, path="", default_for_new=default)
        role.path = f"{parent_role.path if parent_role else ''}{role.pk}."
        role.save(update_fields=["path"])
        role.profiles.set([profiles[p] for p in profile_names])
        roles[name] = role
    Member.objects.filter(is_admin=True).update(role=roles["CEO"])
    Member.objects.filter(is_admin=False).update(role=roles["Sales Person"])
    for name, role_name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        if role_name:
            group.roles.add(roles[role_name])


class Migration(migrations.Migration):
    dependencies = [("access", "0004_access_control")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
