"""``python -m trio_durable.lint PATH...``: the determinism lint."""

import sys

from trio_durable.lint.files import main

sys.exit(main())
