"""Account errors. Every message is safe to show to the person at the keyboard."""

from __future__ import annotations

from pixora_ui.errors import PixoraError


class AccountError(PixoraError):
    """Base class: a sign-in, sign-up or profile action that cannot be done."""


class InvalidCredentials(AccountError):
    def __init__(self) -> None:
        # One message for unknown email and wrong password: nothing tells which one it was.
        super().__init__("Wrong email or password.")


class InvalidEmail(AccountError):
    def __init__(self) -> None:
        super().__init__("Enter a valid email address.")


class EmailTaken(AccountError):
    def __init__(self) -> None:
        super().__init__("An account with this email already exists. Sign in instead.")


class GoogleSignInError(AccountError):
    """Google sign-in was refused or failed. `code` travels in the redirect to /login, never the text."""

    def __init__(self, message: str, *, code: str = "google_failed") -> None:
        super().__init__(message)
        self.code = code


class ResetTokenInvalid(AccountError):
    def __init__(self) -> None:
        super().__init__("This reset link is invalid, expired or already used. Ask for a new one.")
