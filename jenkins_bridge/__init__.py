"""jenkins-bridge: one YAML descriptor per service → Jenkins jobs, pipelines and deployments."""

__version__ = "0.1.0"
