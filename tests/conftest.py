pytest_plugins = ["scanserve.testing", "redis_support"]
