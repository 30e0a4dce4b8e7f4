"""`python -m cli …` runs the admin command (the same as `budget-assist …`)."""
from cli.main import main

raise SystemExit(main())
