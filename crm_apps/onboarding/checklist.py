"""The onboarding checklist is data: features register their items (`checklist_item_register`), the
checklist shows the available ones in `position` order and asks each whether it is done from the
workspace's real data. A feature that does not exist yet (spreadsheet import, mailbox) adds its item
when it lands, in its own AppConfig.ready():

    from crm_apps.onboarding.checklist import ChecklistItem, checklist_item_register
    checklist_item_register(ChecklistItem(key="import", label=_("Import a spreadsheet"), ...))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django_stubs_ext import StrOrPromise

from crm_apps.access.models import Member


def _always() -> bool:
    return True


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: StrOrPromise
    description: StrOrPromise
    url: Callable[[], str]  # where the member does it
    done: Callable[[Member], bool]  # from data: records, invitations, installations...
    position: int = 100
    available: Callable[[], bool] = _always  # e.g. only once the feature's app is installed
    # The admin may mark it done by hand (choosing to keep the defaults is a choice too).
    confirmable: bool = False


_items: dict[str, ChecklistItem] = {}


class DuplicateItem(ValueError):
    pass


def checklist_item_register(item: ChecklistItem) -> ChecklistItem:
    """Add an item; one key once (a second feature claiming it is a programming error)."""
    existing = _items.get(item.key)
    if existing is not None and existing != item:
        raise DuplicateItem(item.key)
    _items[item.key] = item
    return item


def checklist_items() -> list[ChecklistItem]:
    return sorted((i for i in _items.values() if i.available()), key=lambda i: (i.position, i.key))


def checklist_item(key: str) -> ChecklistItem | None:
    item = _items.get(key)
    return item if item is not None and item.available() else None
