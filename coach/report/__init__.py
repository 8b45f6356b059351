"""Reports over what the daemon recorded and what a program plans: history entries per side,
imbalance between sides, and pictures (history panels, a session's strip). Above the layers it
reads (core's records, the store); nothing below imports it."""
