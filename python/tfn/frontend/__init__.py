"""Tracing Python callables into tfn functions."""
