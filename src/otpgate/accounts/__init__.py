"""Accounts without HTTP: self-service, administration, the PIN policy."""
