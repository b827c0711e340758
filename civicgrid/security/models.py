"""No tables: the security app keeps its counters in the cache."""
