"""The mail outbox: mail accepted in a request's transaction, delivered with retries."""
