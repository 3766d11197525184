"""Writing and reading the audit log, and the gate's own decision log lines.

Exports (from their modules): ``writer.AuditLog`` (one JSON line per event, no secrets),
``reader.search`` and ``reader.AuditQuery`` (the log read backwards, for /admin and
/account), ``decision_log.log_decision`` and ``decision_log.logging_config``.
"""
