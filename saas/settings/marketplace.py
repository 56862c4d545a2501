"""Marketplace: extensions' outgoing webhooks."""

from saas import env

# Private, loopback and link-local webhook targets are refused unless this is on (development only).
WEBHOOKS_ALLOW_PRIVATE = env.WEBHOOKS_ALLOW_PRIVATE
