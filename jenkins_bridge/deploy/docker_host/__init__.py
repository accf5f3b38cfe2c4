"""The Docker host target: one engine, a tool-run nginx in front, blue-green or recreate."""
