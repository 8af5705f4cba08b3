"""Deployment and local-run tooling for Effi Core; not part of the shipped packages."""
