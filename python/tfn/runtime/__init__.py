"""Execution of compiled tfn programs."""
