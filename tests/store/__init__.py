"""coach/store: what coach keeps on disk (history, config)."""
