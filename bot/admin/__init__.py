"""The admin console (/admin) and the REST API (/api/v1): accounts, roles, flows, cases, the audit log."""
