"""Real processes: `coach daemon` and `coach run` under signals, kill -9, systemd, a real sound server."""
