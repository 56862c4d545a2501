"""Billing: the Stripe gateway is configured from the environment only (no key = payments off)."""

from saas import env

STRIPE_SECRET_KEY = env.STRIPE_SECRET_KEY
STRIPE_WEBHOOK_SECRET = env.STRIPE_WEBHOOK_SECRET
# Where the SDK sends API calls; tests point it at a local HTTP fixture server.
STRIPE_API_BASE = "https://api.stripe.com"
STRIPE_MAX_NETWORK_RETRIES = 2
STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300
# Currency offered at checkout and shown on the pricing page first.
BILLING_DEFAULT_CURRENCY = "usd"
