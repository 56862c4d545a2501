"""Members, invitations and API tokens of a tenant; later roles, profiles and the visibility filter."""
