"""Tenants, domains, global identity, signup and the tenancy runtime (routing, status, handover)."""
