"""Station bundles and the supervisor's merge (sync.md)."""
