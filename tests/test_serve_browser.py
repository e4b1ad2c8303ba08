"""The web page in a real browser: Debian's headless Chromium driven by Selenium.

Uploads a portrait, types text, submits, watches the progress bar, plays and downloads the
video, finds it in the list, and saves screenshots at 390 and 1440 px wide. Without Chromium
the test is skipped, except where LIPSYNC_REQUIRE_BROWSER is set: `.ci/run` installs Chromium and
sets it, because there a skip would hide a broken page."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the [serve] extra is not installed")

from .local_services import skip_or_fail
from .serve_helpers import ServerProcess, blank_png, portrait_bytes  # noqa: E402

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
SENTENCE = "Welcome to our shop. We bake fresh bread and buns every morning."


def browser_or_skip() -> None:
    problem = None
    try:
        import selenium  # noqa: F401
    except ImportError:
        problem = "selenium is not installed (the [test] extra)"
    if CHROMIUM is None or DRIVER is None:
        problem = "chromium and chromium-driver are not installed (apt-get install them)"
    skip_or_fail(problem, "LIPSYNC_REQUIRE_BROWSER")


@pytest.fixture()
def driver(tmp_path: Path) -> Iterator[Any]:
    browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # type: ignore[assignment]
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--mute-audio"):
        options.add_argument(flag)
    options.add_argument("--autoplay-policy=no-user-gesture-required")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    chrome = webdriver.Chrome(service=Service(DRIVER), options=options)
    chrome.downloads = downloads
    yield chrome
    chrome.quit()


def wait_until(condition: Any, timeout: float = 90, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting for the page")


def screenshot(driver: Any, width: int, path: Path) -> None:
    driver.set_window_size(width, 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height, 600), 4000))
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)
    driver.save_screenshot(str(path))
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways at {width} px"


def test_a_user_renders_watches_plays_and_downloads(
    driver: Any, tmp_path: Path, assets: Path
) -> None:
    from selenium.webdriver.common.by import By

    server = ServerProcess(tmp_path / "data", workers=1)
    try:
        portrait = tmp_path / "grace.jpg"
        portrait.write_bytes(portrait_bytes(assets / "grace_hopper.jpg", size=512))
        not_a_face = tmp_path / "grey.png"
        not_a_face.write_bytes(blank_png())
        driver.set_window_size(1440, 1000)
        driver.get(server.url)
        find = driver.find_element
        wait_until(lambda: len(find(By.ID, "voice").find_elements(By.TAG_NAME, "option")) > 10)

        find(By.ID, "portrait").send_keys(str(not_a_face))
        wait_until(lambda: "no face found" in find(By.ID, "face-note").text)
        find(By.ID, "job-form").submit()
        assert find(By.ID, "form-error").text == "Type the words to speak."

        find(By.ID, "portrait").send_keys(str(portrait))
        wait_until(lambda: find(By.ID, "face-note").text.startswith("Face found"))
        assert find(By.ID, "face-box").is_displayed()
        find(By.ID, "text").send_keys(SENTENCE)
        wait_until(lambda: find(By.ID, "estimate").text.startswith("About "))
        find(By.ID, "submit").click()

        seen: set[float] = set()

        def finished() -> bool:
            value = float(find(By.ID, "progress").get_attribute("value") or 0)
            seen.add(round(value, 3))
            return find(By.ID, "result").is_displayed()

        wait_until(finished, timeout=120)
        assert any(0 < value < 1 for value in seen), f"the bar never moved: {sorted(seen)}"
        assert find(By.ID, "progress-text").text.startswith("Done:")

        ready = wait_until(
            lambda: driver.execute_script(
                "const v = document.getElementById('video');"
                "return v.readyState >= 2 ? [v.readyState, v.duration, v.videoHeight] : null;"
            )
        )
        job_id = find(By.CSS_SELECTOR, "#jobs li").get_attribute("data-id")
        import httpx

        job = httpx.get(f"{server.url}/v1/jobs/{job_id}").json()
        assert ready[0] >= 2 and abs(ready[1] - job["result"]["duration"]) < 0.15
        assert ready[2] == 1080

        find(By.ID, "download").click()
        video = wait_until(lambda: [p for p in driver.downloads.glob("*.mp4")], timeout=30)[0]
        wait_until(lambda: video.stat().st_size == job["result"]["bytes"], timeout=30)

        item = find(By.CSS_SELECTOR, f"#jobs li[data-id='{job_id}']")
        assert "succeeded" in item.find_element(By.CLASS_NAME, "badge").text
        assert "Welcome to our shop" in item.text

        shots = Path(os.environ.get("LIPSYNC_ARTEFACTS", tmp_path)) / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        screenshot(driver, 1440, shots / "web-1440.png")
        screenshot(driver, 390, shots / "web-390.png")
    finally:
        assert server.stop() == 0
