"""`mfa_event`: sent after every second-factor change or check, so the layers above (the workspace audit
trail) record it without this app knowing them. Keyword arguments: request, user, action, details."""

from django.dispatch import Signal

mfa_event = Signal()
