# SPDX-License-Identifier: Apache-2.0
"""deploy/ parses, and every command, option and setting it uses exists in this build."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from homerec.cli.main import app
from homerec.settings import Settings
from tests.deploy.files import DEPLOY, command_lines, loopback_nginx_conf, nginx_binary, parse
from tests.live import free_port

FILES = sorted(p for p in DEPLOY.rglob("*") if p.is_file() and not p.name.endswith(".dockerignore"))


def help_of(words: list[str]) -> str:
    result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, f"homerec {' '.join(words)} does not exist: {result.output}"
    return result.output


def test_the_compose_file_has_the_whole_topology():
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = doc["services"]
    assert {"postgres", "redis", "serve-a", "serve-b", "scheduler", "proxy"} <= set(services)
    for name in ("serve-a", "serve-b"):
        assert services[name]["command"][:2] == ["homerec", "serve"]
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert "artifacts:/var/lib/homerec/artifacts" in services[name]["volumes"]
    assert services["scheduler"]["command"] == ["homerec", "schedule"]
    assert services["proxy"]["depends_on"]["serve-a"]["condition"] == "service_healthy"
    assert services["serve-a"]["environment"]["HOMEREC_STORE_URL"].startswith("postgresql://")


def test_the_dockerfile_is_multi_stage_non_root_and_checks_readiness():
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+\S+(?:\s+AS\s+(\w+))?", text, flags=re.M)
    assert len(stages) == 2 and "COPY --from=build" in text
    assert re.search(r"^USER homerec$", text, flags=re.M) and "useradd --system" in text
    health = next(line for line in text.splitlines() if line.strip().startswith("CMD [\"python\""))
    assert "/readyz" in health
    assert text.strip().splitlines()[-1] == 'CMD ["homerec", "serve"]'


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_homerec_command_and_option_exists(path: Path):
    for line in command_lines(path):
        parsed = parse(line)
        if parsed is None:
            continue
        words, options = parsed
        text = help_of(words)
        for option in options:
            assert option in text, f"{path.name}: homerec {' '.join(words)} has no {option} ({line.strip()})"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_setting_the_files_set_is_a_setting(path: Path):
    fields = set(Settings.model_fields)
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue  # the announced cache option lives in comments until it exists
        for name in re.findall(r"HOMEREC_([A-Z_]+)", line):
            assert name.lower() in fields, f"{path.name}: HOMEREC_{name} is not a setting"


def test_systemd_units_verify(tmp_path: Path):
    venv_homerec = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "homerec"
    names = []
    for unit in (DEPLOY / "systemd").glob("homerec*"):
        if unit.suffix not in (".service", ".target"):
            continue
        text = unit.read_text().replace("/srv/homerec/.venv/bin/homerec", str(venv_homerec))
        text = re.sub(r"^EnvironmentFile=.*$", f"EnvironmentFile={DEPLOY / 'systemd' / 'homerec.env'}", text, flags=re.M)
        name = unit.name.replace("@.service", "@8001.service")
        (tmp_path / name).write_text(text)
        names.append(f"./{name}")
    assert len(names) == 3
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    problems = [line for line in (done.stdout + done.stderr).splitlines() if "homerec" in line]
    assert done.returncode == 0 and not problems, done.stdout + done.stderr


def test_the_nginx_configs_pass_nginx_t(tmp_path: Path):
    nginx = nginx_binary()
    assert nginx, "nginx is not installed: scripts/services.sh installs it"
    conf = loopback_nginx_conf(tmp_path, free_port(), [free_port(), free_port()])
    done = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # The plain-host site file, inside a minimal http block.
    site = (DEPLOY / "systemd" / "nginx-homerec.conf").read_text().replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
    wrapper = tmp_path / "host.conf"
    wrapper.write_text(f"pid {tmp_path}/host.pid;\nevents {{}}\nhttp {{\n{site}\n}}\n")
    done = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(wrapper)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
