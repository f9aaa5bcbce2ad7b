# SPDX-License-Identifier: Apache-2.0
"""Reading deploy/: the homerec command lines its files run, and an nginx config moved onto loopback."""

import re
import shutil
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


USAGE = re.compile(r"^\s*#\s{2,}|docker compose run")
"""An indented example in a comment (`#   homerec …`) or a `docker compose run … homerec …` line."""


def command_lines(path: Path) -> list[str]:
    """Every homerec command line a deploy file runs (CMD, ExecStart=, compose `command`) or shows as usage."""
    text = path.read_text()
    lines = text.splitlines()
    found = [line for line in lines if USAGE.search(line) and "homerec " in line]
    if path.suffix in (".yaml", ".yml"):
        import yaml

        doc = yaml.safe_load(text)
        return found + [" ".join(s["command"]) for s in doc["services"].values() if s.get("command")]
    return found + [line for line in lines if re.match(r"\s*(CMD|RUN|ExecStart=)", line) and "homerec" in line]


def parse(line: str) -> tuple[list[str], list[str]] | None:
    """(sub-command words, --options) of the homerec call on a line, or None when it calls none."""
    words = re.findall(r"[\w.:/@%$-]+", line.replace('"', " ").replace(",", " "))
    programs = [i for i, w in enumerate(words) if w.rsplit("/", 1)[-1] == "homerec"]  # also /srv/…/bin/homerec
    if not programs:
        return None
    rest = words[programs[0] + 1 :]
    sub = []
    for w in rest:
        if w.startswith("-") or not re.fullmatch(r"[a-z][a-z-]*", w):
            break
        sub.append(w)
    options = [w.split("=")[0] for w in rest if w.startswith("--")]
    return (sub, options) if sub else None


def nginx_binary() -> str | None:
    """The nginx program (Debian puts it in /usr/sbin)."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def loopback_nginx_conf(prefix: Path, listen: int, upstreams: list[int]) -> Path:
    """deploy/nginx.conf with its listen port, replicas and files moved to loopback and `prefix`."""
    text = (DEPLOY / "nginx.conf").read_text()
    text = text.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    text = text.replace("serve-a:8000", f"127.0.0.1:{upstreams[0]}").replace("serve-b:8000", f"127.0.0.1:{upstreams[1]}")
    text = text.replace("/tmp/", f"{prefix}/")
    directives = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "serve-" not in directives and "listen 80;" not in directives
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    return conf
