"""flowopt.suggest."""
