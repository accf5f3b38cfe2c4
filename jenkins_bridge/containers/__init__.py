"""Container images: build and push a service's image through the Docker engine.

``engine`` is the only module in the project that imports ``docker`` (lazily, so the CLI
starts fast); ``tags`` and ``streams`` are pure; ``errors`` holds the typed failures.
``build`` (``build_image``, ``push_image``) is what the CLI calls.
"""
