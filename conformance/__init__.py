"""AWS's published durable-execution conformance requirements, answered by trio_durable.

``mapping`` binds each requirement id to a handler in ``handlers``; ``runner``
(``python -m conformance``) validates them with AWS's validator against the
local service and writes the report and docs table.
"""
