"""The dashboard: ``tune --dashboard`` serves a real study with optuna-dashboard; headless Chromium sees it.

Set ``SB3PLUS_DOCS_SCREENSHOT=1`` to copy the screenshot to ``docs/images/optuna-dashboard.png``.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from sb3_plus.tuning import TuneSettings, tune
from sb3_plus.tuning.dashboard import wait_for_http

REPO = Path(__file__).resolve().parents[1]
STUDY = "dash-cartpole"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chromium():
    """Debian's chromium, installed with apt-get when absent (as root); a clear failure otherwise."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.fail("headless Chromium is needed to check the dashboard and is not installed. "
                    "Fix: sudo apt-get install -y chromium")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"installing chromium failed: {' '.join(cmd)}: {done.stderr[-2000:]}")
    found = shutil.which("chromium")
    if not found:
        pytest.fail("apt-get installed chromium but no chromium executable is on the PATH")
    return found


def _browser(args, profile, timeout=120):
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
           "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _text(html):
    import html as html_lib
    import re

    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", html)))


def test_dashboard_serves_the_study_to_a_browser(tmp_path):
    chromium()   # before any work: installed when absent, else a clear failure
    result = tune(TuneSettings("ppo", "CartPole-v1", n_trials=3, study_name=STUDY, log_folder=tmp_path, seeds=1,
                               n_timesteps=256, eval_freq=128, eval_episodes=1, pruner="none", sampler="random",
                               sampler_seed=0, hyperparams={"n_envs": 2, "n_steps": 64, "batch_size": 64,
                                                            "n_epochs": 1}, verbose=0))
    assert result.report["settings"]["metric"] == "return"   # CartPole reports no success: return by default
    port = _free_port()
    cmd = [sys.executable, "-m", "sb3_plus.tune", "--algo", "ppo", "--env", "CartPole-v1", "--study-name", STUDY,
           "-f", str(tmp_path), "--n-trials", "0", "--dashboard", "--dashboard-port", str(port)]
    log = tmp_path / "tune.log"
    server = subprocess.Popen(cmd, cwd=REPO, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                              env=dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/api/studies", timeout=90, process=server)
        with urllib.request.urlopen(f"{base}/api/studies", timeout=10) as response:
            studies = json.load(response)["study_summaries"]
        study_id = next(s["study_id"] for s in studies if s["study_name"] == STUDY)

        # one browser run: the study page's DOM after its scripts ran, and a screenshot of it
        shot = tmp_path / "optuna-dashboard.png"
        page = _browser(["--dump-dom", f"--screenshot={shot}", "--window-size=1400,1000",
                         f"{base}/dashboard/studies/{study_id}"], tmp_path / "profile")
        text = _text(page.stdout)
        assert f"{STUDY} (id={study_id})" in text, (page.stderr[-2000:], text[:2000])
        assert f"Best Trial (number={result.best_trial})" in text, text
        assert "learning_rate" in text                                  # the best trial's params
        for number in range(3):                                         # every trial's learning curve
            assert f"trial #{number}" in text, text
        assert shot.exists(), page.stderr[-2000:]
        with Image.open(shot) as image:
            assert image.size == (1400, 1000)
            assert len(set(image.convert("L").resize((70, 50)).getdata())) > 20   # a rendered page, not blank
        if os.environ.get("SB3PLUS_DOCS_SCREENSHOT"):
            target = REPO / "docs" / "images" / "optuna-dashboard.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, target)

        deadline = time.time() + 90
        while "Ctrl-C to stop" not in log.read_text() and time.time() < deadline and server.poll() is None:
            time.sleep(0.2)
        out = log.read_text()
        assert f"optuna-dashboard sqlite:///{(tmp_path / 'tune' / (STUDY + '.db')).resolve()}" in out, out
        from sb3_plus.tuning import TuneError
        from sb3_plus.tuning.dashboard import start_dashboard

        with pytest.raises(TuneError, match=f"cannot listen on 127.0.0.1:{port}"):   # the port is taken
            start_dashboard(f"sqlite:///{tmp_path / 'other.db'}", port=port)
        assert (tmp_path / "tune" / STUDY / "report.json").exists()   # --n-trials 0 wrote the report
        server.send_signal(signal.SIGTERM)   # `kill` stops tune and its dashboard cleanly
        assert server.wait(30) == 0, log.read_text()
        with pytest.raises(OSError):   # the dashboard went away with it
            urllib.request.urlopen(f"{base}/api/studies", timeout=5)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(30)
