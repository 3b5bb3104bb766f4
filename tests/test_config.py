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
    ("", {"RELAYER_SERVER_PORT": "abc"}, "server.port"),
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
