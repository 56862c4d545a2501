"""Billing: the Stripe gateway is configured from the environment only (no key = payments off)."""

from saas import env

STRIPE_SECRET_KEY = env.STRIPE_SECRET_KEY
STRIPE_WEBHOOK_SECRET = env.STRIPE_WEBHOOK_SECRET
# Stripe signs events of connected accounts (partners' payouts, account.updated) for a separate endpoint.
STRIPE_CONNECT_WEBHOOK_SECRET = env.STRIPE_CONNECT_WEBHOOK_SECRET
# Where the SDK sends API calls; tests point it at a local HTTP fixture server.
STRIPE_API_BASE = "https://api.stripe.com"
STRIPE_MAX_NETWORK_RETRIES = 2
STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300
# Currency offered at checkout and shown on the pricing page first.
BILLING_DEFAULT_CURRENCY = "usd"
# Dunning: past_due (banner + emails) for BILLING_GRACE_DAYS -> read_only for
# BILLING_SUSPEND_AFTER_DAYS more -> suspended. Paying restores everything at once (ADR 0012).
BILLING_GRACE_DAYS = env.BILLING_GRACE_DAYS
BILLING_SUSPEND_AFTER_DAYS = env.BILLING_SUSPEND_AFTER_DAYS
# Local trials (no Stripe subscription yet) get the "trial ending" email this many days before the end.
BILLING_TRIAL_REMINDER_DAYS = 3
# How long a process keeps a plan's entitlements before reading them again (plan edits by operators).
BILLING_PLAN_CACHE_SECONDS = 30
# How long the cached record count of a tenant is trusted (creates add to it at once).
BILLING_RECORD_COUNT_SECONDS = 600
