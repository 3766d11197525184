"""The users file (``otpgate.store.usersfile``): its line format, files and sidecar."""
