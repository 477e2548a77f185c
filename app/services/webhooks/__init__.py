"""Stripe webhooks: verified intake, durable storage, and exactly-once processing by handlers."""
