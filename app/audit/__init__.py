"""The audit trail: one row per state-changing request, appended, never edited."""
