"""Personal data protection: data keys and their rotation, backups, data-subject export and erasure."""
