"""Billing: the 医科診療行為マスター, the 指導料・管理料 of a visit, the one 中途データ builder and the visit summary
with ORCA's trial calculation."""

from flask import Blueprint

bp = Blueprint("billing", __name__, template_folder="templates")
