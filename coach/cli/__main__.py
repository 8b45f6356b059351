"""`python -m coach.cli`: the `coach` command."""

import sys

from coach.cli.app import main

sys.exit(main())
