"""Operations: what operators connect and watch: webhooks, helpdesk connectors, /metrics, /readyz, doctor."""
