"""Storage: the peewee models and column types, opening the database and riding out its
outages, the one render-once SQL mechanism (:mod:`.prepared`), and the schema migrations.
Imports only settings and errors from the rest of scanserve."""
