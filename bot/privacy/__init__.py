"""Privacy: encryption of personal data, masking, subject export and erasure, retention."""
