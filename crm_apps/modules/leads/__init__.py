"""Leads, and their conversion into an organisation, a contact and optionally a deal."""
