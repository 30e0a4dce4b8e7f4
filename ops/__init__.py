"""Operations: metrics, worker liveness and log plumbing for the web and worker processes."""
