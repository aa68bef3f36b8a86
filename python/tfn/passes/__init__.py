"""tfn passes, one module per pass named after it, loaded by name for PassManagers and `tfn-opt`."""
from tfn.passes.registry import PASS_MODULES, add_pipeline, description, pass_names, run_pipeline

__all__ = ["PASS_MODULES", "add_pipeline", "description", "pass_names", "run_pipeline"]
