"""The store contract, one module per protocol of :mod:`otpgate.store.base`, every backend."""
