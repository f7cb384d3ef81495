"""Scheduling: working hours, exceptions, free slots, appointments and the front-desk queue."""
