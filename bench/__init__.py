"""Benchmarks (not tests): `python -m bench.crm` measures the CRM on a large tenant. See bench/README.md."""
