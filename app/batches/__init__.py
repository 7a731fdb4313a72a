"""The batches domain."""
