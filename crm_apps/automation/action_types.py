"""Workflow action and trigger types contributed from outside automation (an installed marketplace app's
actions and events).

A provider is a function of the module key returning the external actions this workspace offers there
now (looked up per call, so installing or removing an app changes the designer at once). An external
action takes no settings of its own: the runner POSTs the record to its URL as a signed delivery (the
same transport, retries and run log as the `webhook` action, `saas/webhooks.py`). Types must contain a
dot (`app.<extension>.<key>`) so they never collide with the built-in ones in `definitions.ACTIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ExternalAction:
    type: str  # "app.<extension slug>.<action key>"
    label: str
    url: str
    secret: str  # signs the delivery (X-CRM-Signature)
    event: str = "app.action"


_providers: list[Callable[[str], list[ExternalAction]]] = []


def provider_add(provider: Callable[[str], list[ExternalAction]]) -> None:
    """Register a provider (an AppConfig.ready()); the same function twice is kept once."""
    if provider not in _providers:
        _providers.append(provider)


def external_actions(module: str) -> dict[str, ExternalAction]:
    """type -> action, for the actions every provider offers on `module` in this workspace now."""
    found: dict[str, ExternalAction] = {}
    for provider in _providers:
        for action in provider(module):
            if "." in action.type:
                found.setdefault(action.type, action)
    return found


@dataclass(frozen=True)
class ExternalTrigger:
    """A trigger another package fires with `extension.trigger_fire(trigger=type, ...)` (an installed app's
    event, reported through the app's own endpoint); it takes no settings in the workflow definition."""

    type: str  # "app.<extension slug>.<trigger key>"
    label: str


_trigger_providers: list[Callable[[str], list[ExternalTrigger]]] = []


def trigger_provider_add(provider: Callable[[str], list[ExternalTrigger]]) -> None:
    """Register a provider of external triggers (an AppConfig.ready()); looked up per call like actions."""
    if provider not in _trigger_providers:
        _trigger_providers.append(provider)


def external_triggers(module: str) -> dict[str, ExternalTrigger]:
    """type -> trigger, for the triggers every provider offers on `module` in this workspace now."""
    found: dict[str, ExternalTrigger] = {}
    for provider in _trigger_providers:
        for trigger in provider(module):
            if "." in trigger.type:
                found.setdefault(trigger.type, trigger)
    return found
