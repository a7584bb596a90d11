"""Billing: Stripe Checkout, the Customer Portal and webhooks (switched off without Stripe keys)."""
