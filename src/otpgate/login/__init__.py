"""The login decision: attempts, rules, compare-and-set, PINs, linger, the Authenticator."""
