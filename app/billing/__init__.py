"""Fees sent to ORCA: the 中途データ of clinical records (prescriptions, lab orders) through the outbox."""
