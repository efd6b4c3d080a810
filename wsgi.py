"""WSGI entry point: `gunicorn wsgi:app`."""
from carecycle import create_app

app = create_app()
