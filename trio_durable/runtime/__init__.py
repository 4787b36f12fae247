"""One invocation: entrypoint, contexts, state actor, ids, replay checks, suspension."""
