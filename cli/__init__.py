"""The `budget-assist` admin command: jobs, budgets, workers, purge, migrate and doctor, with the web down."""
