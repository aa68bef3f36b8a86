"""tfn passes, registered by name for PassManagers and `tfn-opt`."""
from tfn.passes.registry import PASSES, add_pipeline, pass_names

__all__ = ["PASSES", "add_pipeline", "pass_names"]
