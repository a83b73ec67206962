"""Channels: adapters that convert a platform's payloads to `Inbound` and `Outbound` to its API calls; nothing else."""
