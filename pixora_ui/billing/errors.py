"""The billing errors a person may see; each message is safe to show as it is."""

from __future__ import annotations

from pixora_ui.errors import PixoraError


class BillingError(PixoraError):
    """A billing action could not be done; the message is safe to show to the user."""

    code = "billing_error"


class AlreadySubscribedError(BillingError):
    status = 409
    code = "already_subscribed"


class NoSubscriptionError(BillingError):
    status = 409
    code = "no_subscription"


class PaymentProviderError(BillingError):
    """Stripe could not be reached or refused the request."""

    status = 502
    code = "payment_provider_unavailable"
