"""Flask extensions made once and bound to the app in create_app (so that views can use them without importing the
application package)."""

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
