"""The 3 documents: referral letters (診療情報提供書) written, printed and shared; documents received."""

from flask import Blueprint

bp = Blueprint("documents", __name__, template_folder="templates")
