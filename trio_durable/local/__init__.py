"""The local durable execution service: engine, stores, invokers, client, HTTP API.

Layers, each importing only those below it: the sans-IO ``engine`` (with
``validation``, ``history``, ``arns``) and the ``store``s; ``protocols`` (the
``Invoker`` and ``ServiceAPI`` contract); ``service`` on one side and
``client``/``invokers``/``subprocess_invoker`` on the other, which meet only
through ``protocols``; ``http`` and ``targets`` on top. The SDK (``runtime/``,
``operations/``, ``batcher/``) never imports this package; ``testing/`` and the
command line do.
"""
