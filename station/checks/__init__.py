"""Frame checks against an export profile (CHSI by default) and the export crop."""
