"""The tfn dialect: loading its IRDL definition and building its ops."""
from tfn.dialect.context import dialect_path, load_dialect, new_context
from tfn.dialect import ops, types

__all__ = ["dialect_path", "load_dialect", "new_context", "ops", "types"]
