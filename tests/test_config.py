from __future__ import annotations

from pathlib import Path

import pytest

from relayer.cli import main
from relayer.config import load_settings
from relayer.errors import ConfigError


def test_defaults_are_valid() -> None:
    settings = load_settings()
    assert settings.store_url.startswith("sqlite:///")
    assert settings.chains.ethereum.chain_id == 31337


def test_precedence_file_env_flags(tmp_path: Path) -> None:
    config = tmp_path / "relayer.toml"
    config.write_text('[server]\nport = 9000\nhost = "0.0.0.0"\n'
                      '[chains.ethereum]\nrpc_urls = ["http://a", "http://b"]\n')
    settings = load_settings(config)
    assert (settings.server.port, settings.server.host) == (9000, "0.0.0.0")
    assert settings.chains.ethereum.rpc_urls == ("http://a", "http://b")
    settings = load_settings(config, environ={"RELAYER_SERVER_PORT": "9100",
                                              "RELAYER_CHAINS_ETHEREUM_RPC_URLS": "http://c"})
    assert settings.server.port == 9100
    assert settings.chains.ethereum.rpc_urls == ("http://c",)
    settings = load_settings(config, environ={"RELAYER_SERVER_PORT": "9100"},
                             overrides={"server.port": 9200})
    assert settings.server.port == 9200


@pytest.mark.parametrize(("text", "env", "key"), [
    ("[server]\nprot = 1\n", {}, "server.prot"),
    ("[server]\nport = \"x\"\n", {}, "server.port"),
    ("[server]\nport = 70000\n", {}, "server.port"),
    ("", {"RELAYER_SERVER_PORT": "abc"}, "RELAYER_SERVER_PORT"),
    ("", {"RELAYER_NO_SUCH_KEY": "1"}, "RELAYER_NO_SUCH_KEY"),
    ("[chains.cardano]\nnetwork = \"moon\"\n", {}, "chains.cardano.network"),
    ("[chains.ethereum.assets.X]\nid = \"0x12\"\ndecimals = 6\n", {},
     "chains.ethereum.assets.X.id"),
    ("[quote]\nrecommended_preset = \"turbo\"\n", {}, "quote.recommended_preset"),
    ("[store]\nurl = \"mysql://x\"\n", {}, "store.url"),
])
def test_bad_config_names_the_key(tmp_path: Path, text: str, env: dict[str, str],
                                  key: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(config, environ=env)
    assert key in str(err.value)


def test_cli_reports_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nport = -1\n")
    assert main(["check-config", "--config", str(config)]) == 2
    assert "server.port" in capsys.readouterr().err
    assert main(["check-config"]) == 0


def test_missing_file() -> None:
    with pytest.raises(ConfigError):
        load_settings("/nonexistent/relayer.toml")


def test_limits_have_one_section_and_the_old_keys_still_work(tmp_path: Path) -> None:
    limits = load_settings().limits
    assert (limits.header_count, limits.header_bytes, limits.query_bytes, limits.body_bytes,
            limits.ws_message_bytes, limits.ws_send_queue_messages, limits.ws_send_queue_bytes,
            limits.ws_send_timeout_seconds) == (100, 16_384, 4_096, 65_536, 65_536, 1_024,
                                                4_194_304, 30.0)
    old = tmp_path / "old.toml"
    old.write_text("[server]\nmax_body_bytes = 2048\n[websocket]\nmax_frame_bytes = 4096\n"
                   "send_queue = 8\nsend_timeout_seconds = 2.5\n")
    moved = load_settings(old).limits
    assert (moved.body_bytes, moved.ws_message_bytes, moved.ws_send_queue_messages,
            moved.ws_send_timeout_seconds) == (2_048, 4_096, 8, 2.5)
    # The environment wins over the file, under either name.
    assert load_settings(old, environ={"RELAYER_LIMITS_BODY_BYTES": "4096"}
                         ).limits.body_bytes == 4_096
    assert load_settings(environ={"RELAYER_SERVER_MAX_BODY_BYTES": "3000"}
                         ).limits.body_bytes == 3_000
    both = tmp_path / "both.toml"
    both.write_text("[server]\nmax_body_bytes = 2048\n[limits]\nbody_bytes = 4096\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(both)
    assert refused.value.details == {"key": "server.max_body_bytes"}


@pytest.mark.parametrize(("key", "value"), [
    ("header_count", 5), ("header_bytes", 100), ("query_bytes", 100_000), ("body_bytes", 0),
    ("ws_message_bytes", 10), ("ws_send_queue_messages", 0), ("ws_send_queue_bytes", 1_000),
    ("ws_send_timeout_seconds", 0)])
def test_a_bad_limit_names_its_key(key: str, value: float) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(overrides={f"limits.{key}": value})
    assert refused.value.details == {"key": f"limits.{key}"}


@pytest.mark.parametrize("text", ["٣", "8_080", " 8080", "8080 ", "+8080", "0x1f90"])
def test_integers_from_the_environment_are_plain_decimal(text: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(environ={"RELAYER_SERVER_PORT": text})
    assert refused.value.details["key"] == "server.port"


@pytest.mark.parametrize(("text", "env", "flags"), [
    ('[server]\nport = "abc"\n', {}, {"server.port": 18080}),
    ('[server]\nport = "abc"\n', {"RELAYER_SERVER_PORT": "9000"}, {}),
    ("[server]\nport = 70000\n", {}, {"server.port": 18080}),
])
def test_file_values_are_checked_even_when_overridden(
        tmp_path: Path, text: str, env: dict[str, str], flags: dict[str, object]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_settings(config, environ=env, overrides=flags)
    assert refused.value.message.startswith("server.port must be")
    assert refused.value.message.endswith(f"(in {config})")
    assert refused.value.details["key"] == "server.port"


def test_serve_refuses_a_bad_file_value_behind_a_flag(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[server]\nport = "abc"\n')
    assert main(["serve", "--config", str(config), "--port", "18080"]) == 2
    assert capsys.readouterr().err == (
        f"relayer: configuration error: server.port must be an integer (in {config})\n")


@pytest.mark.parametrize(("env", "message", "key"), [
    ({"RELAYER_SERVER_PORT": "abc"}, "RELAYER_SERVER_PORT must be an integer", "server.port"),
    ({"RELAYER_SERVER_PORT": "70000"}, "RELAYER_SERVER_PORT must be in [0, 65535]",
     "server.port"),
    ({"RELAYER_SERVER_MAX_BODY_BYTES": "10"},
     "RELAYER_SERVER_MAX_BODY_BYTES must be in [1024, 64 MiB]", "limits.body_bytes"),
    ({"RELAYER_CHAINS_ETHEREUM_RPC_URLS": "ftp://x"},
     "RELAYER_CHAINS_ETHEREUM_RPC_URLS must be http:// or https:// URLs",
     "chains.ethereum.rpc_urls"),
    ({"RELAYER_RATE": "1"}, "unknown environment variable RELAYER_RATE", "RELAYER_RATE"),
])
def test_environment_errors_name_the_variable(env: dict[str, str], message: str,
                                              key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(environ=env)
    assert refused.value.message == message
    assert refused.value.details["key"] == key


def test_a_good_variable_over_a_good_file_and_a_flag_over_both(tmp_path: Path) -> None:
    config = tmp_path / "relayer.toml"
    config.write_text("[server]\nport = 9000\n")
    settings = load_settings(config, environ={"RELAYER_SERVER_PORT": "9100"},
                             overrides={"server.port": None, "server.host": "0.0.0.0"})
    assert (settings.server.port, settings.server.host) == (9100, "0.0.0.0")
