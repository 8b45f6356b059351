"""coach's tests, laid out like coach/: one folder a layer, shared helpers in tests/support."""
