"""docs/deployment.md is true to the code: the settings it names exist, its systemd unit runs a
command the CLI takes, and its nginx file is the one the load-balancer test renders."""

from __future__ import annotations

import re

from pydantic import SecretStr

from axp_chat_connector.cli import build_parser
from axp_chat_connector.config import Settings, env_name
from tests.e2e.deploy.nginx import DEPLOYMENT_DOC, published_config, render

EXEC_START = re.compile(r"^ExecStart=\S*/axp-chat-connector (.+)$", re.MULTILINE)


def known_settings() -> set[str]:
    names = {env_name(field) for field in Settings.model_fields}
    secrets = {
        name
        for name, field in Settings.model_fields.items()
        if field.annotation in (SecretStr, SecretStr | None)
    }
    return names | {f"{env_name(field)}_FILE" for field in secrets}


def test_every_setting_the_page_names_exists() -> None:
    named = set(re.findall(r"\bAXP_CHAT_[A-Z0-9_]*[A-Z0-9]\b", DEPLOYMENT_DOC.read_text()))
    named -= {"AXP_CHAT_AXP"}  # "the AXP_CHAT_AXP_* settings", a family
    assert named, "the page names settings"
    assert named <= known_settings(), sorted(named - known_settings())


def test_the_systemd_unit_runs_a_command_the_cli_takes() -> None:
    (command,) = EXEC_START.findall(DEPLOYMENT_DOC.read_text())
    args = build_parser().parse_args(command.replace("%i", "8080").split())
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 8080)


def test_the_published_nginx_file_renders_for_the_test() -> None:
    instances = ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"]
    rendered = render(published_config(), instances, 9000)
    for instance in instances:
        assert f"server {instance} max_fails=1" in rendered
    assert "listen 127.0.0.1:9000;" in rendered
    assert "ssl_" not in rendered
    assert "10.0.0.1" not in rendered.replace("10.0.0.0/8", "")
    for must in (
        "$connection_upgrade",
        "proxy_read_timeout",
        "X-Forwarded-For",
        "/v1/axp/callback/",
    ):
        assert must in rendered, must
