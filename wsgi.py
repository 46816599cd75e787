"""WSGI entry point: app = create_app()."""

from app import create_app

app = create_app()
