"""The composition root: builds the services of a process (web, worker, CLI) from its configuration."""
