"""The checkpoint batcher actor and the service clients it calls."""
