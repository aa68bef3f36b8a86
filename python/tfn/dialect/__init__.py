"""The tfn dialect: loading its IRDL definition, types, and the base of its op builders
(the builders and rules of each op are in `tfn.ops`)."""
from tfn.dialect.context import dialect_path, load_dialect, new_context
from tfn.dialect import core, types

__all__ = ["core", "dialect_path", "load_dialect", "new_context", "types"]
