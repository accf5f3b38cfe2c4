"""The proxy container on the Docker host, reconciled with the descriptor on every deploy.

It is created once and reused, but only while it matches: a proxy that publishes another
address than ``listen`` (the descriptor changed) or runs another image than the proxy image is
re-created with the configuration it serves, so the new address serves and the old one stops.
If the new address cannot be bound, the previous proxy is put back as it was.
"""

from __future__ import annotations

from jenkins_bridge.containers.runtime import ContainerInfo, ContainerSpec, PortTaken
from jenkins_bridge.deploy.docker_host.session import Session
from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.deploy.proxy import CONFIG_DIR, CONFIG_FILE, PROXY_PORT, render_proxy_config


def proxy_spec(session: Session, image: str, host: str, port: int) -> ContainerSpec:
    return ContainerSpec(
        name=session.names.proxy,
        image=image,
        labels=session.labels("proxy"),
        network=session.names.network,
        restart="unless-stopped",
        publish=((PROXY_PORT, host, port),),
        init=False,
        no_new_privileges=True,
    )


def mismatch(session: Session, proxy: ContainerInfo) -> str | None:
    """How ``proxy`` differs from what the descriptor asks for (None: it matches)."""
    listen = session.target.listen
    wanted = ((PROXY_PORT, listen.host, listen.port),)
    if proxy.published and proxy.published != wanted:
        shown = ", ".join(f"{host}:{port}" for _, host, port in proxy.published)
        return f"it listens on {shown}, not on {listen}"
    if proxy.image and proxy.image != session.target.proxy_image:
        return f"it runs image {proxy.image}, not {session.target.proxy_image}"
    return None


def ensure_proxy(session: Session) -> str | None:
    """The proxy runs and matches the descriptor; a line saying what changed, if anything."""
    runtime = session.runtime
    existing = runtime.inspect(session.names.proxy)
    if existing is not None:
        differs = mismatch(session, existing)
        if differs is None:
            if not existing.running:
                session.log(f"starting proxy {session.names.proxy}")
                runtime.start(session.names.proxy)
            return None
        return _recreate(session, existing, differs)
    listen = session.target.listen
    session.log(f"starting proxy {session.names.proxy} on {listen} ({session.target.proxy_image})")
    runtime.resolve_image(session.target.proxy_image)
    spec = proxy_spec(session, session.target.proxy_image, listen.host, listen.port)
    _start(session, spec, render_proxy_config(None).encode())
    return None


def _start(session: Session, spec: ContainerSpec, config: bytes) -> None:
    runtime = session.runtime
    runtime.create(spec)
    runtime.put_file(spec.name, CONFIG_DIR, CONFIG_FILE, config)
    try:
        runtime.start(spec.name)
    except PortTaken as exc:
        runtime.remove(spec.name)
        raise DeployError(
            f"listen address {session.target.listen} is already taken by something else on "
            f"the engine's host: {exc.cause}",
            hint="free that port or change deploy[].listen; nothing was deployed",
        ) from exc


def _recreate(session: Session, old: ContainerInfo, differs: str) -> str:
    runtime = session.runtime
    name = session.names.proxy
    session.runtime.resolve_image(session.target.proxy_image)
    config = (
        runtime.get_file(name, f"{CONFIG_DIR}/{CONFIG_FILE}") or render_proxy_config(None).encode()
    )
    runtime.remove(name)
    listen = session.target.listen
    try:
        _start(session, proxy_spec(session, session.target.proxy_image, listen.host, listen.port),
               config)  # fmt: skip
    except DeployError:
        # Put the previous proxy back as it was, so what served still serves.
        _, host, port = old.published[0] if old.published else (0, listen.host, listen.port)
        runtime.remove(name)
        runtime.create(proxy_spec(session, old.image or session.target.proxy_image, host, port))
        runtime.put_file(name, CONFIG_DIR, CONFIG_FILE, config)
        runtime.start(name)
        raise
    line = f"proxy {name}: re-created ({differs}); it now listens on {listen}"
    session.log(line)
    return line
