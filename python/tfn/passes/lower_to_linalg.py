"""Pass `tfn-lower-to-linalg`: tfn tensor ops -> linalg/tensor/arith/math (see tfn.lowering)."""
from tfn.lowering.to_linalg import lower_to_linalg

NAME, DESCRIPTION, run = "tfn-lower-to-linalg", "Lower tfn tensor ops to linalg, tensor, arith and math", lower_to_linalg
