"""The demo: two clinics, eight accounts, patients from the ORCA simulator (see ACCEPTANCE.md)."""
