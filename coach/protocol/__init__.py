"""The control protocol, the contract between the daemon and its clients (the CLI, the keys, the
GPIO button, MPRIS, the scheduler): its typed messages (``messages``) and the wire codec between
them and JSON objects (``codec``). It imports only the core, so a client loads no daemon code."""
