"""Libraries the passes build with (builders, contractions, the op lowering rules) and the compile driver."""
