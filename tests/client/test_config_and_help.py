"""Configuration (arguments, environment, config file and its profiles), `--help` of every
command, and shell completion: no server needed."""

import pytest
from relay_client import ConfigError, cli
from relay_client.config import api_root, resolve


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("RELAY_API_URL", "RELAY_API_KEY", "RELAY_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RELAY_CONFIG", str(tmp_path / "config.toml"))
    return tmp_path / "config.toml"


def test_arguments_then_environment_then_the_config_file(clean_env, monkeypatch):
    with pytest.raises(ConfigError, match="RELAY_API_KEY"):
        resolve()
    clean_env.write_text(
        'api_url = "http://files.example:8000"\napi_key = "rk_file"\n'
        '[profiles.staging]\napi_url = "https://staging.example/api/v1/"\napi_key = "rk_staging"\n'
    )
    assert resolve() == resolve("http://files.example:8000/api/v1", "rk_file")
    assert resolve(profile="staging").api_url == "https://staging.example/api/v1"
    monkeypatch.setenv("RELAY_PROFILE", "staging")
    assert resolve().api_key == "rk_staging"
    monkeypatch.setenv("RELAY_API_KEY", "rk_env")
    monkeypatch.setenv("RELAY_API_URL", "http://env.example")
    assert resolve() == resolve("http://env.example/api/v1", "rk_env")
    assert resolve("http://arg.example", "rk_arg").api_key == "rk_arg"
    monkeypatch.delenv("RELAY_API_KEY")
    with pytest.raises(ConfigError, match="no profile 'prod'"):
        resolve(profile="prod")


def test_the_url_may_name_the_server_or_the_api():
    assert api_root("http://h:8000") == api_root("http://h:8000/") == "http://h:8000/api/v1"
    assert api_root("http://h:8000/api/v1/") == "http://h:8000/api/v1"


def test_every_command_has_help_with_exit_codes(capsys):
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert set(commands) >= {"status", "datasets", "upload", "annotations", "publish", "train", "infer", "watch",
                             "plot", "jobs", "models", "keys", "completion"}  # fmt: skip
    for name in [None, *commands]:
        with pytest.raises(SystemExit) as stopped:
            cli.main([name, "--help"] if name else ["--help"])
        assert stopped.value.code == 0
        assert "exit codes" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["infer"])
    assert stopped.value.code == 2


def test_completion_names_commands_options_and_choices(capsys):
    assert cli.main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    assert "complete -o default -o bashdefault -F _relay relay" in script
    assert "upload" in script and "--min-duration-ms" in script and "import export" in script
