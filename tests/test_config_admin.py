"""The `admin:` section of the configuration: defaults, the shipped config.yaml, refused keys
and values (each naming its key), and a listen address that cannot be bound."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import lockfree_trading as lt
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BASE: dict[str, Any] = {"symbols": [{"name": "X"}], "engine": {"threads": 1}}


def test_defaults_and_the_shipped_config() -> None:
    admin = lt.Config.from_dict(BASE).admin
    assert (admin.enabled, admin.listen, admin.max_connections, admin.max_head_bytes) == (
        False,
        "127.0.0.1:8080",
        32,
        8192,
    )
    # config.yaml has the section, off, with every key (and the same defaults).
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())["admin"]
    assert set(raw) == set(lt.config.AdminSettings.model_fields)
    assert lt.Config.from_yaml(ROOT / "config.yaml").admin == admin
    assert lt.Config.from_dict({**BASE, "admin": {"listen": "[::1]:0"}}).admin.listen == "[::1]:0"


@pytest.mark.parametrize(
    ("admin", "message"),
    [
        ({"prot": 1}, r"admin\.prot: unknown key"),
        ({"listen": "8080"}, r"admin\.listen: .*not host:port"),
        ({"listen": "localhost:8080"}, r"admin\.listen: .*not host:port"),
        ({"listen": "::1:8080"}, r"admin\.listen: .*not host:port"),
        ({"listen": "127.0.0.1:70000"}, r"admin\.listen: .*not host:port"),
        ({"max_connections": 0}, r"admin\.max_connections"),
        ({"max_head_bytes": 10}, r"admin\.max_head_bytes"),
        ({"max_headers": 0}, r"admin\.max_headers"),
        ({"request_timeout_seconds": 0}, r"admin\.request_timeout_seconds"),
        ({"max_requests_per_connection": 0}, r"admin\.max_requests_per_connection"),
        ({"max_depth": 0}, r"admin\.max_depth"),
        ({"enabled": "maybe"}, r"admin\.enabled"),
    ],
)
def test_bad_admin_settings_name_the_key(admin: dict[str, Any], message: str) -> None:
    with pytest.raises(lt.InvalidConfig, match=message):
        lt.Config.from_dict({**BASE, "admin": admin})


def test_a_port_in_use_is_refused_when_the_server_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = {**BASE, "admin": {"listen": f"127.0.0.1:{port}"}}
        with (
            lt.TradingSystem(cfg) as s,
            pytest.raises(lt.InvalidConfig, match=r"admin\.listen: cannot listen"),
        ):
            s.start_admin()
