"""`python -m petition_triage.cli`."""

import sys

from . import main

sys.exit(main())
