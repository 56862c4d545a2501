"""Billing (issue 5): plans, Stripe subscriptions, entitlements. Not an installed app yet."""
