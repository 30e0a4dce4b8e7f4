pytest_plugins = ["tests.support.actual_fixtures"]
