# SPDX-License-Identifier: Apache-2.0
"""The dashboard in a real headless Chromium against a real `homerec serve`, screenshot included.

Needs Debian's `chromium` and `chromium-driver` packages (scripts/services.sh installs them).
Selenium drives /usr/bin/chromedriver directly, so Selenium Manager never looks for a driver
on the network. Without them the test is skipped, except under CI=true, where it fails.
"""

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.serving.conftest import API_KEY
from tests.serving.dashboard_seed import EXPERIMENT, PLACEMENTS, Seeded, seed
from tests.live import HomerecServer

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--window-size=1400,1000")
WAIT_S = 30


def _require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if not missing:
        return
    message = (f"not found: {', '.join(missing)} (apt-get install chromium chromium-driver; "
               "pip install -e '.[dev]')")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def seeded(world, tmp_path_factory) -> Seeded:
    return seed(world, tmp_path_factory.mktemp("dashboard-browser") / "homerec.db")


@pytest.fixture(scope="module")
def server(world, seeded, tmp_path_factory) -> Iterator[str]:
    """`homerec serve` on the seeded store, reads behind the API key; yields the base URL."""
    folder = tmp_path_factory.mktemp("dashboard-server")
    env = {"HOMEREC_API_KEYS": API_KEY, "HOMEREC_READ_REQUIRES_KEY": "true", "HOMEREC_RELOAD_INTERVAL_S": "0",
           "HOMEREC_PLACEMENTS": json.dumps({name: {} for name in PLACEMENTS})}
    with HomerecServer(seeded.store_url, world["artifacts"], folder, env=env) as running:
        yield running.base


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium through /usr/bin/chromedriver, with the console log kept."""
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_dashboard_renders_live_data_in_chromium(server, browser, world, seeded, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_S)
    browser.get(f"{server}/dashboard")

    # Reads need the key: the page asks for it, then loads.
    key_box = wait.until(ec.visibility_of_element_located((By.ID, "key-box")))
    assert "needs an API key" in key_box.text
    browser.find_element(By.ID, "key").send_keys(API_KEY)
    key_box.find_element(By.TAG_NAME, "button").click()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-overview") == "loaded")
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-experiments") == "loaded")
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-placements") == "loaded")

    version = world["version"]
    assert browser.find_element(By.ID, "serving").text == version
    assert browser.find_element(By.ID, "ready").text == "ready"
    row = browser.find_element(By.CSS_SELECTOR, f"#models tr[data-version='{version}']")
    assert "active" in row.get_attribute("class") and "ACTIVE" in row.text and "hybrid" in row.text
    assert browser.find_element(By.ID, "kpi-model").text == version

    exp = browser.find_element(By.CSS_SELECTOR, f"[data-experiment='{EXPERIMENT}']")
    assert "running" in exp.text and "split" in exp.text
    variants = [tr.get_attribute("data-variant") for tr in exp.find_elements(By.CSS_SELECTOR, "tr[data-variant]")]
    assert variants == ["control", "candidate"]
    control = exp.find_element(By.CSS_SELECTOR, "tr[data-variant='control']")
    assert control.find_elements(By.TAG_NAME, "td")[1].text == str(seeded.users_per_variant["control"])
    assert len(exp.find_elements(By.CSS_SELECTOR, ".split span")) == 2

    # Per placement: every user's first list was `home`, and its clicks and purchases are theirs.
    users = sum(seeded.users_per_variant.values())
    home = browser.find_element(By.CSS_SELECTOR, "#placements tr[data-placement='home']")
    cells = [td.text for td in home.find_elements(By.TAG_NAME, "td")]
    clicks = sum(seeded.clicked_per_variant.values())
    assert cells[1:4] == [str(users), str(users), f"{100 * clicks / users:.2f}%"]
    assert cells[5] == f"{20.0 * len(range(0, users, 5)):.2f}"
    cart = browser.find_element(By.CSS_SELECTOR, "#placements tr[data-placement='cart']")
    assert [td.text for td in cart.find_elements(By.TAG_NAME, "td")][3] == "0.00%"

    bars = browser.find_elements(By.CSS_SELECTOR, "#event-bars div")
    assert len(bars) == 60
    assert int(browser.find_element(By.ID, "kpi-hour").text.replace(",", "")) > 0
    assert "current" in browser.find_element(By.ID, "cache-body").text

    # The user lookup: a known user's history and recommendations.
    browser.find_element(By.ID, "user-id").send_keys(seeded.recent_user)
    browser.find_element(By.ID, "lookup-go").click()
    result = wait.until(ec.presence_of_element_located((By.ID, "user-result")))
    assert result.get_attribute("data-user") == seeded.recent_user
    tables = result.find_elements(By.TAG_NAME, "table")
    assert len(tables) == 2
    assert len(tables[0].find_elements(By.CSS_SELECTOR, "tbody tr")) > 0
    recs = tables[1].find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(recs) == 10 and all(r.find_elements(By.CSS_SELECTOR, ".score .fill") for r in recs)
    assert browser.find_element(By.ID, "user-source").text == "live model"
    assert EXPERIMENT in browser.find_element(By.ID, "user-experiment").text

    # Full-page screenshot, then check it is not blank: many colours, much ink.
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(int(height) + 40, 6000))
    browser.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)
    shot = Path(tmp_path) / "dashboard.png"
    assert browser.save_screenshot(str(shot))
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    rgb = pixels.astype(np.uint32)
    colours = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
    assert len(colours) > 200, f"only {len(colours)} distinct colours in {shot}"
    background = np.array([0xF3, 0xF5, 0xF8])
    ink = (np.abs(pixels.astype(int) - background).sum(axis=2) > 60).mean()
    assert ink > 0.05, f"only {ink:.1%} of {shot} differs from the background"

    # An unknown user gets the fallback list.
    field = browser.find_element(By.ID, "user-id")
    field.clear()
    field.send_keys("nobody-we-know")
    browser.find_element(By.ID, "lookup-go").click()
    wait.until(lambda d: d.find_element(By.ID, "user-result").get_attribute("data-user") == "nobody-we-know")
    assert "fallback" in browser.find_element(By.ID, "user-source").text

    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE" and "401" not in e["message"]]
    assert not errors, errors


def test_a_segment_form_lists_customers_and_downloads_the_servers_csv(server, browser, world):
    """The segment card calls the native segment route with the page's key; its link is the server's CSV."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_S)
    browser.get(f"{server}/dashboard")
    if browser.find_element(By.ID, "key-box").is_displayed():
        browser.find_element(By.ID, "key").send_keys(API_KEY)
        browser.find_element(By.CSS_SELECTOR, "#key-box button").click()
    item = world["item_ids"][0]
    k = browser.find_element(By.ID, "segment-k")
    k.clear()
    k.send_keys("30")
    browser.find_element(By.ID, "segment-query").send_keys(item)
    browser.find_element(By.ID, "segment-go").click()
    result = wait.until(ec.presence_of_element_located((By.ID, "segment-table")))
    assert result.get_attribute("data-users") == "30"
    assert len(result.find_elements(By.CSS_SELECTOR, "tbody tr")) == 30
    link = browser.find_element(By.ID, "segment-csv")
    assert link.get_attribute("href").startswith("blob:") and link.get_attribute("download") == "segment.csv"
    text = browser.execute_async_script(
        "const done = arguments[1]; fetch(arguments[0]).then(r => r.text()).then(done);", link.get_attribute("href"))
    lines = text.strip().splitlines()
    assert lines[0] == "user_id,score" and len(lines) == 31
    first = result.find_elements(By.CSS_SELECTOR, "tbody tr")[0].find_elements(By.TAG_NAME, "td")[1].text
    assert lines[1].split(",")[0] == first

    query = browser.find_element(By.ID, "segment-query")
    query.clear()
    query.send_keys("no-such-item")
    browser.find_element(By.ID, "segment-go").click()
    error = wait.until(ec.presence_of_element_located((By.ID, "segment-error")))
    assert "no-such-item" in error.text
