"""Billing (issue 5): plans and prices, one subscription per tenant, the Stripe gateway and webhooks.

A shared app: every table lives in `public`. See billing/README.md for what exists and what does not.
"""
