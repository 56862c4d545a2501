"""Everything that lives inside a tenant schema."""
