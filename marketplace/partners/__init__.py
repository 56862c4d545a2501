"""Partners (public schema): organisations, their team, profile, leads, authorised listing, delegated access."""
