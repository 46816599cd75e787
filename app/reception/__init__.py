"""受付一覧: the day's visits, sorted and filtered, refreshed live."""

from flask import Blueprint

bp = Blueprint("reception", __name__, template_folder="templates")
