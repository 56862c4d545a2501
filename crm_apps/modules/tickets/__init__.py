"""Tickets (vtiger's HelpDesk): customer issues with replies, SLAs, queues and closing with a solution."""
