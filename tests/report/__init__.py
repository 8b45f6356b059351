"""coach/report: history views and pictures."""
