"""One module per durable operation; ``DurableContext`` delegates to them.

Each module runs its operation against an ``OperationScope``
(``operations/protocols.py``): the narrow view of one context (ids in program
order, updates, plugin views, the state actor, the batcher, the serializer).
Modules here may import ``runtime/``'s leaf modules (state, ids, logger,
failures, primitives, step_context), ``config``, ``errors``, ``serialization``,
``wire`` and each other; never ``runtime/context.py`` or ``runtime/invocation.py``.
Only ``runtime/context.py`` (and the package's public re-exports) import them.
"""
