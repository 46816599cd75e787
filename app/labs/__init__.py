"""Outside lab: the lab-item master (JLAC10/JLAC11), orders sent as JAHIS OML^O33, specimen labels, result import
(OUL^R22 / ORU^R01) and the patient's result table."""

from flask import Blueprint

bp = Blueprint("labs", __name__, template_folder="templates")
