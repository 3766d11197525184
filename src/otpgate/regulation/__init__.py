"""Rate limiting: the throttle per user and address, the guess budget, the failure writer."""
