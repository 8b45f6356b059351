"""The coach hears you: a recogniser for spoken ratings (and commands) and the mic capture."""
