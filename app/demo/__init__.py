"""The demo: two clinics, eight accounts, patients from the ORCA simulator (docs/demo.md)."""
