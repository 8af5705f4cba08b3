"""Accounts: registration, e-mail confirmation, sign-in, token refresh, logout, reset."""
