"""Supervision's rules, one module per topic; views and API endpoints call these."""
