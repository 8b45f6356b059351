"""coach/core: the pure parts (program loader, timeline, phrases, mixer, progression), no I/O."""
