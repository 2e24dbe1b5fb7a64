pytest_plugins = ["scanserve.testing", "redis_support", "postgres_support"]
