"""The output tree on disk: loading and rendering a run (``run``), the manifest of what a render
wrote (``manifest``), writing, pruning and checking it (``workspace``) without ever following a
link out of ``-o`` (``confined``)."""
