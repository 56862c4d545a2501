"""Model fields shared by apps of every layer (access, audit, engine, marketplace)."""

from __future__ import annotations

from typing import Any

from django.db import models

# The key of a CRM module (`deals`, or a tenant's custom module): one length wherever a key is stored,
# so a key accepted in one place (a custom module, a field definition) fits every other column.
MODULE_KEY_MAX_LENGTH = 50


class ModuleKeyField(models.CharField):
    """A column holding a module key, always `MODULE_KEY_MAX_LENGTH` long.

    Migrations see it as a plain CharField (see `deconstruct`), so moving or renaming this class never
    touches a migration, and changing the length is one AlterField per column that the autodetector finds.
    """

    description = "CRM module key"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("max_length", MODULE_KEY_MAX_LENGTH) != MODULE_KEY_MAX_LENGTH:
            raise TypeError("A module key column always has MODULE_KEY_MAX_LENGTH characters.")
        kwargs["max_length"] = MODULE_KEY_MAX_LENGTH
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.CharField", args, kwargs
