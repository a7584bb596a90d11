"""Billing: Stripe Checkout and the Customer Portal (`checkout`), webhooks (`webhooks`), the plan
as the subscription's state (`subscriptions`) and what pages show (`service`); off without Stripe keys."""
