"""Lowering of tfn ops to upstream dialects, and the named pipelines of each target."""
