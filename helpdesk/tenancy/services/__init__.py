"""Tenancy services: what the product does with organizations, users and departments."""
