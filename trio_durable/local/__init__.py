"""The local durable execution service: engine, stores, invokers, client."""
