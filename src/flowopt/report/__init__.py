"""flowopt.report."""
