"""The `embedding` consumer group: turns submitted face photos into embeddings."""
