"""Calendar and tasks: events (meetings, calls) with recurrence, invitees and reminders, and to-dos."""
