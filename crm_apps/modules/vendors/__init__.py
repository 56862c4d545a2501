"""Vendors: the suppliers products are bought from."""
