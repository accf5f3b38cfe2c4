"""The Swarm target: one Swarm service on the manager engine, rolled by Swarm and checked here."""
