"""Email (crm_apps/mail): credential encryption keys and which hosts a mailbox may reach."""

from saas import env

MAIL_ENCRYPTION_KEYS = env.MAIL_ENCRYPTION_KEYS
# Private, loopback and link-local IMAP/SMTP hosts are refused unless this is on (development only).
MAIL_ALLOW_PRIVATE = env.MAIL_ALLOW_PRIVATE
# Polling: a mailbox is synced when its last sync is older than this (beat runs every two minutes).
MAIL_SYNC_INTERVAL_SECONDS = 120
# Messages fetched per IMAP round trip (bounded memory) and per task run (the rest is the backlog).
MAIL_SYNC_BATCH = 50
MAIL_SYNC_MAX_PER_RUN = 500
# Consecutive failed syncs after which a mailbox is paused and its owner notified.
MAIL_SYNC_MAX_FAILURES = 5
# Network timeout of one IMAP/SMTP connection, in seconds.
MAIL_TIMEOUT_SECONDS = 20
# Campaign sends per plan code: (messages per month, messages per minute); "*" for plans not listed.
MAIL_CAMPAIGN_LIMITS = {
    "free": (500, 30),
    "starter": (5_000, 60),
    "professional": (50_000, 300),
    "enterprise": (500_000, 1_000),
    "*": (1_000, 60),
}
