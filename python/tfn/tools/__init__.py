"""Command-line entry points: `tfn-opt` (tfn.tools.opt)."""
