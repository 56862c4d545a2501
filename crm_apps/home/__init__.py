"""A member's home page inside a tenant."""
