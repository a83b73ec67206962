"""Operations: signed webhooks out, helpdesk connectors, metrics, readiness, structured logs and the doctor."""
