"""One invocation: entrypoint, contexts, state actor, ids, replay checks, suspension.

The leaf modules (state, mailbox, ids, replay, failures, logger, step_context,
primitives, threads) import nothing of ``operations/`` and may be imported by
it. ``context.py`` (``DurableContext`` and the ``ContextScope`` the operations
receive) imports the operations; ``invocation.py`` and ``entrypoint.py`` sit
above it. ``local/`` and ``testing/`` may import ``entrypoint``; nothing here
imports ``local/``.
"""
