"""The `station` command line: the contract for scripts and tests (see README)."""
