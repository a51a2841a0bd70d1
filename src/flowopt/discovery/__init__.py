"""flowopt.discovery."""
