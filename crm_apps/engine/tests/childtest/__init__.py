"""A test-only module with a child table (orders and their lines): installed by saas/settings/test.py
only, so the engine's line items are proven without shipping a module (ADR 0018-child-tables)."""
