"""The executor workers: running approved actions under a lease, upkeep, and the process supervisor."""
