"""The warehouse: table definitions, engine from config, migrations, idempotent writes."""
