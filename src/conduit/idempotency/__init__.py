"""Idempotency-Key: safe retries of signed-in writes."""
