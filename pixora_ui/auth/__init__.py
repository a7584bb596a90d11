"""Accounts: passwords, database sessions, lockout, Google sign-in and password reset (mail: pixora_ui.mail)."""
