"""flowopt.analysis."""
