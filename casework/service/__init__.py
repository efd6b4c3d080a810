"""Casework rules, one module per topic. Views and API endpoints call these; nothing else decides."""
