"""Rate limiting behind one Regulator: the throttle, the guess budget, failures written behind.

``regulator.Regulator`` (the interface), ``regulator.LocalRegulator`` (this process),
``shared.SharedRegulator`` (also counted in a shared state); ``throttle``, ``budget``
and ``failure_writer`` are their parts.
"""
