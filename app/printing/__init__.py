"""Printing: PDF rendering of the documents a clinic hands out (fonts, 2D symbols, page layouts).

Nothing here reads the database: a domain builds a plain value (e.g. `prescription.PrescriptionPrint`) and
asks for its PDF. The outpatient prescription is drawn with ReportLab (see
print_templates/outpatient_prescription/NOTES.md for why).
"""
