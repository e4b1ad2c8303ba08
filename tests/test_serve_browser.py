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

from .conftest import speech_like, write_wav
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


def test_the_assistant_fills_in_the_form_and_renders_the_plan(
    driver: Any, tmp_path: Path, assets: Path
) -> None:
    """A request typed in the chat panel (the model: scripted answers from an endpoint on
    127.0.0.1) fills in the form; a follow-up edits it; Render this runs the job."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from .test_assist_cli import Endpoint, render

    words = "Hello, and welcome to the bakery."
    request = f"Make grace.jpg say '{words}' in a British voice, a bit slower"
    llm = Endpoint()
    llm.answers = [
        render(portrait="grace.jpg", text=words, voice="en-gb", rate=140),
        render(expression_scale=1.5),
    ]
    server = ServerProcess(tmp_path / "data", "--llm-url", llm.url, workers=1)
    try:
        portrait = tmp_path / "grace.jpg"
        portrait.write_bytes(portrait_bytes(assets / "grace_hopper.jpg", size=512))
        driver.set_window_size(1440, 1000)
        driver.get(server.url)
        find, find_all = driver.find_element, driver.find_elements
        wait_until(lambda: len(find(By.ID, "voice").find_elements(By.TAG_NAME, "option")) > 10)
        wait_until(lambda: find(By.ID, "assistant").is_displayed())
        find(By.ID, "portrait").send_keys(str(portrait))
        wait_until(lambda: find(By.ID, "face-note").text.startswith("Face found"))
        assert find(By.ID, "chat-files").text == "grace.jpg"

        find(By.ID, "chat-input").send_keys(request + Keys.ENTER)
        plan = wait_until(lambda: find_all(By.CSS_SELECTOR, "#chat .plan"))[-1]
        summary = plan.find_element(By.CLASS_NAME, "summary").text
        assert summary.startswith(f'plan:      warp: grace.jpg speaking text "{words}"')
        form = {name: find(By.NAME, name) for name in ("text", "voice", "rate", "expression_scale")}
        assert form["text"].get_attribute("value") == words
        assert form["voice"].get_attribute("value") == "en-gb"
        assert form["rate"].get_attribute("value") == "140"
        assert find(By.ID, "rate-value").text == "140"
        wait_until(lambda: find(By.ID, "estimate").text.startswith("About "))

        find(By.ID, "chat-input").send_keys("more expressive" + Keys.ENTER)
        wait_until(lambda: len(find_all(By.CSS_SELECTOR, "#chat .plan")) == 2)
        assert form["expression_scale"].get_attribute("value") == "1.5"
        assert form["voice"].get_attribute("value") == "en-gb", "the follow-up keeps the rest"
        assert llm.bodies[1]["messages"][-3]["content"] == request, "the page sent the history"

        find(By.NAME, "upscale").click()  # the portrait's own size: a quicker render
        plans = find_all(By.CSS_SELECTOR, "#chat .plan")
        plans[-1].find_element(By.CLASS_NAME, "render-plan").click()
        wait_until(lambda: find(By.ID, "result").is_displayed(), timeout=180)
        job_id = find(By.CSS_SELECTOR, "#jobs li").get_attribute("data-id")
        import httpx

        job = httpx.get(f"{server.url}/v1/jobs/{job_id}").json()
        assert job["status"] == "succeeded" and job["text"] == words
        options = job["options"]
        assert (options["voice"], options["rate"], options["expression_scale"]) == (
            "en-gb",
            140,
            1.5,
        )
        assert options["upscale"] is False and job["result"]["frame_size"][1] == 512

        recording = write_wav(tmp_path / "talk.wav", speech_like(1.0, [(0.1, 0.9)]))
        find(By.ID, "chat-attach").send_keys(str(recording))
        wait_until(lambda: find(By.ID, "chat-files").text.split() == ["grace.jpg", "talk.wav"])
        llm.answers = [render(audio="talk.wav")]
        find(By.ID, "chat-input").send_keys("use talk.wav instead" + Keys.ENTER)
        wait_until(lambda: len(find_all(By.CSS_SELECTOR, "#chat .plan")) == 3)
        assert find(By.ID, "speech-audio").is_displayed() and not form["text"].is_displayed()
        chosen = driver.execute_script("return document.getElementById('audio').files[0].name")
        assert chosen == "talk.wav"
        assert form["expression_scale"].get_attribute("value") == "1.5"

        shots = Path(os.environ.get("LIPSYNC_ARTEFACTS", tmp_path)) / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        screenshot(driver, 1440, shots / "web-assistant-1440.png")
        screenshot(driver, 390, shots / "web-assistant-390.png")
    finally:
        llm.close()
        assert server.stop() == 0
