"""Contacts: people, usually at an organisation, with a reports-to hierarchy."""
