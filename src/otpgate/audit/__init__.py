"""Writing and reading the audit log, and the gate's own decision log lines."""
