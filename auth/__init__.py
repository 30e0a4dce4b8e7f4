"""Who may use the service: one password, sessions, API tokens, the login rate limit."""
