"""Fetch stage: ask Twelve Data for the configured symbols on a schedule and drop the answer in inputs/."""
