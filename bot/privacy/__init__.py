"""Privacy: personal data encrypted at rest, data keys and rotation, backups, subject export and erasure."""
