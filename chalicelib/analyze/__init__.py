"""Analyze stage: per-symbol metrics, anomalies, market aggregates, insights, the analysis record."""
