"""Plaint's application, in rooms (channels, desk, admin, lifecycle, insight, privacy, operations) around the
intake service, the outbox worker, the composition root and the CLI. Root exception: bot.errors.PlaintError."""
