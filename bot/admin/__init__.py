"""Admin: the web console (/admin) and REST API (/api/v1): accounts, roles, flows, cases, the audit log."""
