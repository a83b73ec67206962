"""Admin: the web console (/admin) and the REST API (/api/v1) for supervisors and admins, with roles and audit."""
