"""The `coach` command as a user runs it: a real subprocess, real files, exit codes, output."""
