"""What coach keeps on disk: the history database (sessions, sets, ratings), config.yaml, and
program files as coach reads them. Imports only the core; the CLI, the reports and the daemon
all read it."""
