"""The Kubernetes adapter: the only package that imports the official ``kubernetes`` client
(lazily, so CLI start-up never loads it)."""
