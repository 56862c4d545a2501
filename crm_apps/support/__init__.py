"""Support desk shared parts: business hours, holidays, SLA policies, the SLA clock and queue assignment."""
