"""Tenants, users, roles and permissions, sign-in sessions."""
