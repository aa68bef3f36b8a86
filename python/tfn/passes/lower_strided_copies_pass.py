"""Pass `tfn-lower-strided-copies` (see tfn.lowering.copies)."""
from tfn.lowering.copies import lower_strided_copies
from tfn.passes.registry import register

register("tfn-lower-strided-copies", "Rewrite memref.copy between strided buffers into linalg copies")(
    lower_strided_copies)
