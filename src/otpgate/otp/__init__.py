"""Pure one-time password algorithms and token formats: bytes keys, time passed in, no I/O."""
