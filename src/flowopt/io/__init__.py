"""flowopt.io."""
