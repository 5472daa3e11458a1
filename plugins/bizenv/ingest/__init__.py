"""Survey and metric batches: read, map through the schema, check rows, load without losing any."""
