"""coach/daemon in-process: the session thread on a DummyPlayer (the Rig), control, buttons, MPRIS."""
