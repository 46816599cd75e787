"""The patient's history from オンライン資格確認: the card-reader consent to it, and the 薬剤・診療・特定健診情報
fetched through the 資格確認端末, kept as received, shown by period and fed to the prescription check."""

from flask import Blueprint

bp = Blueprint("onshi", __name__, template_folder="templates")
