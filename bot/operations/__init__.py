"""Operations: signed webhooks, helpdesk connectors, metrics, readiness and the doctor."""
