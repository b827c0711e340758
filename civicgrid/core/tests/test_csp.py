"""The Content-Security-Policy and the markup it relies on: no inline script, no handlers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from civicgrid.field.middleware import HEADER, principal_of

ROOT = Path(settings.BASE_DIR) / "civicgrid"
TEMPLATES = sorted(p for p in ROOT.rglob("templates/**/*.html"))
SCRIPTS = sorted((ROOT / "static" / "civicgrid" / "js").glob("*.js"))


def policy(response) -> dict[str, list[str]]:
    out = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/report/", "/field/login/"])
def test_pages_carry_a_policy_without_inline_script(client, path):
    r = client.get(path)
    assert r.status_code == 200
    p = policy(r)
    assert p["script-src"] == ["'self'"]
    assert p["object-src"] == ["'none'"] and p["base-uri"] == ["'self'"]
    assert "'unsafe-inline'" not in p["script-src"] and "'unsafe-eval'" not in p["script-src"]
    assert p["style-src"] == ["'self'", "'unsafe-inline'"]  # decided: docs/security.md
    assert p["frame-ancestors"] == ["'self'"]


def test_the_tile_server_is_allowed_for_images_only():
    from config.settings.base import _origin

    assert _origin("https://{s}.tiles.example.cn/{z}/{x}/{y}.png") == "https://*.tiles.example.cn"
    assert _origin("") == ""


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_script_handlers_or_js_urls(path):
    text = path.read_text()
    for m in re.finditer(r"<script\b([^>]*)>", text):
        attrs = m.group(1)
        assert "src=" in attrs or 'type="application/json"' in attrs, (path, m.group(0))
    assert not re.search(r"\son[a-z]+\s*=", text), path
    assert "javascript:" not in text.lower(), path
    # htmx evaluates trigger filters ("every 5s [cond]") and hx-on as code: needs 'unsafe-eval'.
    assert not re.search(r'hx-trigger="[^"]*\[', text), path
    assert "hx-on" not in text, path


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_scripts_never_hand_leaflet_an_html_string(path):
    text = path.read_text()
    for m in re.finditer(
        r"\.(bindTooltip|bindPopup|setTooltipContent|setPopupContent)\(([^,)]*)", text
    ):
        arg = m.group(2).strip()
        # Only the text-node helpers (or functions/DOM builders such as public-square.js popup()).
        assert re.match(r"(textEl|CG\.text|popup)\(|function\b", arg), (path.name, m.group(0))
    assert "eval(" not in text and "new Function" not in text, path.name


@pytest.mark.django_db
def test_field_pages_name_their_principal_for_the_service_worker(client, world):
    r = client.get("/field/login/")
    assert HEADER not in r  # signed out: nothing for the worker to keep
    client.force_login(world.worker_a1)
    r = client.get("/field/")
    assert r.status_code == 200 and r[HEADER] == principal_of(world.worker_a1)
    assert str(world.worker_a1.pk) != r[HEADER] and "Cookie" in r["Vary"]
    client.force_login(world.chief_a)
    assert client.get("/field/")[HEADER] != principal_of(world.worker_a1)


def test_service_worker_keeps_pages_per_principal_and_respects_vary():
    sw = (ROOT / "field" / "templates" / "field" / "sw.js").read_text()
    assert "ignoreVary" not in sw
    assert "X-CG-Principal" in sw and '"logout"' in sw
    page = (ROOT / "static" / "civicgrid" / "js" / "page.js").read_text()
    assert "form[data-signout]" in page and "cg-signed-out" in page
