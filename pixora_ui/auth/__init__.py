"""Accounts: passwords, database sessions, lockout, Google sign-in, password reset and mail."""
