"""flowopt.datasets."""
