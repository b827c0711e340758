"""Render the deployment files in deploy/ with this installation's paths.

    render_deploy.py nginx   --prefix DIR [--listen 127.0.0.1:8080] [--upstream 127.0.0.1:8081]
    render_deploy.py systemd --out DIR [--user civicgrid] [--env-file /etc/civicgrid/civicgrid.env]

``nginx`` writes a complete foreground configuration into DIR (nginx.conf including the site,
used by make prod and the deployment test) and prints the path; ``systemd`` writes the units.
Paths (STATIC_ROOT, MEDIA_ROOT, var/) come from Django's settings, i.e. from the environment.
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")


def fill(text: str, values: dict[str, str]) -> str:
    missing = sorted(set(PLACEHOLDER.findall(text)) - values.keys())
    if missing:
        raise SystemExit(f"render_deploy: no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def django_paths() -> dict[str, str]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    from django.conf import settings

    return {
        "APP_DIR": str(ROOT),
        "STATIC_ROOT": str(Path(settings.STATIC_ROOT).resolve()),
        "MEDIA_ROOT": str(Path(settings.MEDIA_ROOT).resolve()),
        "VAR_DIR": str(Path(os.environ.get("CIVICGRID_VAR_DIR", ROOT / "var")).resolve()),
        "ACCEL_PREFIX": settings.FILES_ACCEL_REDIRECT_PREFIX or "/_protected/",
    }


def render_nginx(prefix: Path, listen: str, upstream: str, server_name: str) -> Path:
    prefix = prefix.resolve()
    for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi", "logs"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    values = django_paths() | {
        "PREFIX": str(prefix),
        "LISTEN": listen,
        "UPSTREAM": upstream,
        "SERVER_NAME": server_name,
        "ACCESS_LOG": str(prefix / "logs" / "access.log"),
        "PROXY_INCLUDE": str(prefix / "proxy.conf"),
        "MIME_TYPES": "/etc/nginx/mime.types",
        # As root, nginx's workers would otherwise run as nobody, who may not read the checkout.
        "USER_DIRECTIVE": f"user {pwd.getpwuid(os.getuid()).pw_name};" if os.getuid() == 0 else "",
    }
    (prefix / "proxy.conf").write_text((DEPLOY / "nginx" / "proxy.conf").read_text())
    (prefix / "civicgrid.conf").write_text(
        fill((DEPLOY / "nginx" / "civicgrid.conf").read_text(), values)
    )
    conf = prefix / "nginx.conf"
    conf.write_text(fill((DEPLOY / "nginx" / "standalone.conf").read_text(), values))
    return conf


def render_systemd(out: Path, user: str, env_file: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    try:
        group = grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
    except KeyError:
        group = user
    values = django_paths() | {"USER": user, "GROUP": group, "ENV_FILE": env_file}
    written = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        target = out / unit.name
        target.write_text(fill(unit.read_text(), values))
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    n = sub.add_parser("nginx")
    n.add_argument("--prefix", type=Path, required=True)
    n.add_argument("--listen", default="127.0.0.1:8080")
    n.add_argument("--upstream", default="127.0.0.1:8081")
    n.add_argument("--server-name", default="_")
    s = sub.add_parser("systemd")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--user", default="civicgrid")
    s.add_argument("--env-file", default="/etc/civicgrid/civicgrid.env")
    args = parser.parse_args(argv)
    if args.what == "nginx":
        print(render_nginx(args.prefix, args.listen, args.upstream, args.server_name))
    else:
        for path in render_systemd(args.out, args.user, args.env_file):
            print(path)


if __name__ == "__main__":
    main()
