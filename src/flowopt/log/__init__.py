"""flowopt.log."""
