"""The national services: consent, the 6 information registered to and read from the 電子カルテ情報共有サービス
(JP-CLINS FHIR mapping in fhir/)."""

from flask import Blueprint

bp = Blueprint("sharing", __name__, template_folder="templates")
