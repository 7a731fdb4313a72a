"""Signed outbound webhooks (Standard Webhooks): subscriptions, events, deliveries."""
