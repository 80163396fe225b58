"""Ingest stage: decode a Twelve Data file, validate every bar, write processed/rejects."""
