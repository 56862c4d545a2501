"""Organisations (vtiger Accounts), with a parent hierarchy."""
