"""Entry point of ``python -m conformance``."""

import sys

from conformance.runner import main

sys.exit(main())
