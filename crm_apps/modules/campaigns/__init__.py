"""Campaigns, with their member leads and contacts and each member's campaign status."""
