"""``cti-server --check``: validate a site before opening any board, and say every problem.

An operator changing ``site.toml`` on a live system wants to know before the restart that
the new file will start: this reads the configuration and checks, without opening a board or
binding the bus,

* the file itself: TOML syntax, sections, keys, types and ranges (:meth:`Config.from_dict`
  collects every problem, not only the first);
* the board: the driver is a known backend (built-in or a ``cti.boards`` entry point);
* the trunks: each signalling stack imports and its ``config`` table parses;
* the bus: endpoints are well formed and distinct, plain mode only on loopback, and each
  tcp port is free to bind (a quick bind and unbind, on a private context);
* the keys (``security = "curve"``; relative paths are the server's, from its working directory): the server key pair loads, the accounts file parses;
* the store: a SQLite file's directory exists and is writable, a PostgreSQL URL has its driver;
* ``[contact]``, ``[media]`` and the demo scenario file parse;
* ``[cluster]``: its keys, the node's name, nats-py (and psycopg for ``centre``) installed.

Every check runs even when an earlier one failed; :func:`check_site` returns the list (empty:
the site is good).
"""
from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable
from typing import Any

from cti.config import Config, ConfigError

#: signalling -> (module, adapter config class) whose ``from_dict`` parses ``[[trunk]] config``
_TRUNK_CONFIGS = {"no1": ("cti.signaling.no1.config", "No1Config"),
                  "ss7": ("cti.signaling.ss7.trunk", "Ss7Config"),
                  "pri": ("cti.signaling.pri.trunk", "PriConfig")}


def check_site(path: str | None, config: Config | None = None, *, bind: bool = True) -> list[str]:
    """Every problem of the site configuration at ``path`` (or of ``config``); empty: good.
    ``bind`` False skips the test binds of the bus ports."""
    problems: list[str] = []
    if config is None:
        if path is None:
            return ["no configuration file given (-c site.toml)"]
        try:
            config = Config.load(path)
        except ConfigError as e:
            problems += e.problems
            if not isinstance(e.partial, Config):   # not even TOML: nothing more to check
                return problems
            config = e.partial              # built from the good parts: the other checks still run
    else:
        problems += config.problems()
    bus = functools.partial(_bus, bind=bind)
    for name, check in (("board", _board), ("trunks", _trunks), ("bus", bus), ("keys", _keys),
                        ("store", _store), ("contact", _contact), ("demo", _demo), ("cluster", _cluster)):
        try:
            problems += check(config)
        except Exception as e:  # a checker that breaks is one more problem, not the end
            problems.append(f"{name}: the check itself failed: {e!r}")
    return problems


def _board(cfg: Config) -> list[str]:
    if cfg.board.driver == "loopback":
        return []
    import drivers
    names = drivers.available()
    if cfg.board.driver not in names:
        return [f"board.driver {cfg.board.driver!r} is not a known backend (known: {', '.join(names)}, loopback)"]
    return []


def _trunks(cfg: Config) -> list[str]:
    out = []
    for i, t in enumerate(cfg.trunks):
        if t.signalling == "loop":
            if cfg.board.driver != "loopback":
                out.append(f"trunk[{i}]: signalling 'loop' needs board.driver 'loopback'")
            continue
        if t.signalling not in _TRUNK_CONFIGS:
            continue                      # Config.problems said so
        module, cls = _TRUNK_CONFIGS[t.signalling]
        try:
            kind = getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError) as e:
            out.append(f"trunk[{i}]: the {t.signalling} stack is not available ({module}.{cls}): {e}")
            continue
        try:
            kind.from_dict(dict(t.config))
        except Exception as e:  # each stack raises its own error class for a bad table
            out.append(f"trunk[{i}] ({t.signalling}) config: {e}")
    return out


def _bus(cfg: Config, bind: bool) -> list[str]:
    from cti.bus.auth import is_loopback
    out = []
    eps = {"events": cfg.bus.events, "snapshot": cfg.bus.snapshot, "control": cfg.bus.control}
    if cfg.bus.security == "plain":
        out += [f"bus.{n} {ep} is not a loopback endpoint: plain mode refuses it (use security = \"curve\")"
                for n, ep in eps.items() if not is_loopback(ep)]
    if bind and not out:
        import zmq
        ctx = zmq.Context()
        try:
            from cti.config import ENDPOINT_RE
            tried: set[str] = set()
            for n, ep in eps.items():
                # malformed or repeated endpoints are problems of the config already
                if not ep.startswith("tcp://") or ep.endswith(":*") or not ENDPOINT_RE.fullmatch(ep) or ep in tried:
                    continue
                tried.add(ep)
                sock = ctx.socket(zmq.PUB)
                sock.linger = 0
                try:
                    sock.bind(ep)
                except zmq.ZMQError as e:
                    out.append(f"bus.{n} {ep} cannot be bound: {e} (another cti-server running?)")
                finally:
                    sock.close()
        finally:
            ctx.term()
    return out


def _keys(cfg: Config) -> list[str]:
    if cfg.bus.security != "curve":
        return []
    keys = cfg.bus.keys                 # as the server reads it: relative to the working directory
    out = []
    if not os.path.isdir(keys):
        return [f"bus.keys {cfg.bus.keys!r}: no such directory (make it with `cti-keys server DIR`)"]
    secret = os.path.join(keys, "server.key_secret")
    if not os.path.exists(secret):
        out.append(f"bus.keys: no server key {secret} (run `cti-keys server {keys}`)")
    else:
        import zmq.auth
        try:
            _pub, sec = zmq.auth.load_certificate(secret)
            if sec is None:
                out.append(f"bus.keys: {secret} holds no secret key")
        except (OSError, ValueError) as e:
            out.append(f"bus.keys: {secret} cannot be read: {e}")
    accounts = cfg.bus.accounts or os.path.join(keys, "accounts.toml")
    from cti.bus.auth import AccountBook, AuthError
    try:
        book = AccountBook.load(accounts)
        if not book.accounts:
            out.append(f"bus.accounts {accounts}: no accounts (add them with `cti-keys client`)")
    except (AuthError, ValueError, TypeError, KeyError) as e:
        out.append(f"bus.accounts: {e}")
    return out


def _store(cfg: Config) -> list[str]:
    url = cfg.server.store
    if url.startswith(("postgresql://", "postgres://")):
        try:
            importlib.import_module("psycopg")
        except ImportError:
            return [f"server.store {url}: PostgreSQL needs the psycopg package"]
        return []
    path = url[len("sqlite://"):] if url.startswith("sqlite://") else url
    if path in ("", ":memory:"):
        return []
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(folder):
        return [f"server.store {url}: directory {folder} does not exist"]
    if not os.access(folder, os.W_OK) and not os.access(path, os.W_OK):
        return [f"server.store {url}: directory {folder} is not writable"]
    return []


def _contact(cfg: Config) -> list[str]:
    out: list[str] = []
    if cfg.media is not None and cfg.contact is None:
        out.append("[media] needs [contact] (the media resources use its audio and IVR)")
    if cfg.contact is not None:
        from cti.contact import ContactConfig
        out += _parse("[contact]", lambda: ContactConfig.from_dict(cfg.contact or {}))
    if cfg.media is not None:
        from cti.contact.resources import MediaConfig
        out += _parse("[media]", lambda: MediaConfig.from_dict(cfg.media or {}))
    return out


def _cluster(cfg: Config) -> list[str]:
    from cti.cluster.config import check_site as check_cluster
    return check_cluster(cfg.server.node, cfg.cluster)


def _demo(cfg: Config) -> list[str]:
    if not cfg.demo.scenario:
        return []
    from simulator.scenario import ScenarioConfig
    scenario = cfg.demo.scenario
    return _parse(f"demo.scenario {scenario}", lambda: ScenarioConfig.load(scenario))


def _parse(what: str, fn: Callable[[], Any]) -> list[str]:
    try:
        fn()
    except Exception as e:  # every parser has its own error class; all are problems
        return [f"{what}: {e}"]
    return []


__all__ = ["check_site"]
