"""Reports: per-router aggregates and statistics, paired comparisons, terminal tables, CSV, JSON, HTML and pictures."""
