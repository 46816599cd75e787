"""Prescriptions: the drug master (医薬品マスター) now; orders, checks and printed prescriptions later."""

from flask import Blueprint

bp = Blueprint("prescriptions", __name__, template_folder="templates")
