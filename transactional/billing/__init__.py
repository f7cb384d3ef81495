"""Billing: fee schedules, charge capture, invoices, claims to payers, payments, remittances."""
