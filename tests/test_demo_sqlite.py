import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLE = ROOT.parent / "shared" / "data" / "sample-manifest.jsonl"


def test_the_demo_runs_on_sqlite_with_tasks_in_process(tmp_path):
    """Every page of the seeded demo and the imported sample answers on the embedded default."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "SECRET_KEY"}
    }
    env.update(
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        ALLOWED_HOSTS="testserver",
        LOG_LEVEL="WARNING",
    )
    result = subprocess.run(
        [sys.executable, "tests/sqlite_smoke.py", str(SAMPLE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "0 failures" in result.stdout
