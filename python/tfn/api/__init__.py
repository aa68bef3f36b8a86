"""Implementation of the public API (re-exported from `tfn`)."""
