"""WSGI entry point: app = create_app(). A production configuration missing a secret stops here with the
variable's name (exit 1), whether the server is gunicorn, waitress or `flask`."""

import sys

from app import create_app
from app.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    sys.exit(f"Kamikarte: {exc}")
