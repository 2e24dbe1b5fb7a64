pytest_plugins = ["scanserve.testing"]
