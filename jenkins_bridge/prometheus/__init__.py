"""The Prometheus adapter: instant PromQL queries over its HTTP API, with typed, located
errors (``client.py``)."""
