"""Batches for the ministry pipeline, print sheets and reports."""
