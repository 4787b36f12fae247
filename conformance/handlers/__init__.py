"""Durable functions written with trio_durable, one per conformance requirement.

Modules are grouped by suite; ``conformance.mapping`` says which function answers
which requirement id. Importing this package installs the log capture when the
runner asked for it (so a subprocess invoker's child process captures too).
"""

from conformance import logcapture

logcapture.install_from_env()
