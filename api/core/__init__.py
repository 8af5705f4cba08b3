"""Shared foundations of the API and the workers: settings, logging, database."""
