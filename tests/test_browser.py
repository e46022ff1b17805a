"""The pages in a real browser: headless Chromium driven through Selenium, over
the real HTTP endpoint and a real database. What a reader sees, that no script
runs (not even the news's own), that the stylesheet applies (Chinese line
height, dark mode, a phone's width) and that nothing but it loads; and
screenshots of the pages.

The system's chromium and chromedriver are used (``bash scripts/chromium.sh``
installs Debian's); Selenium Manager never runs and the browser resolves no
name but 127.0.0.1, so nothing is downloaded. Without them (or Selenium) the
tests skip, saying why; with TEST_REQUIRE_BROWSER=1 (CI) they fail instead.
The screenshots go to the test's temporary directory; with TEST_SCREENSHOTS=1,
into docs/screenshots/ (not NEWSDIGEST_*: newsdigest's configuration refuses
unknown keys in that namespace).

Every wait is an explicit one with a generous deadline, never a sleep.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlencode

import pytest

from digests.config import WebSettings
from digests.store.models import Edition
from digests.web.pages import STYLESHEET_NAME
from tests.conftest import REPO, FreshDatabases
from tests.webkit import HOSTILE, Site, built, open_site

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # the browser fixture says so: a skip, or in CI a failure
    HAVE_SELENIUM = False
else:
    HAVE_SELENIUM = True

REQUIRE_ENV = "TEST_REQUIRE_BROWSER"
SCREENSHOTS_ENV = "TEST_SCREENSHOTS"
SCREENSHOTS = REPO / "docs" / "screenshots"
WAIT = 60  # seconds: a deadline for a slow machine, not a pace
PHONE = (390, 844)
DESKTOP = (1280, 800)
MAX_SCREENSHOT_BYTES = 300_000


def _missing(why: str) -> NoReturn:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{why}, and {REQUIRE_ENV}=1: the browser test must run", pytrace=False)
    pytest.skip(f"{why} (bash scripts/chromium.sh installs it)")


def _program(env: str, name: str) -> str:
    found = os.environ.get(env) or shutil.which(name)
    if not found:
        _missing(f"no {name} on PATH (nor ${env})")
    return found


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium for the module (starting one costs a second or two)."""
    if not HAVE_SELENIUM:
        _missing("selenium is not installed (pip install -e '.[test]')")
    chromium = _program("CHROMIUM", "chromium")
    chromedriver = _program("CHROMEDRIVER", "chromedriver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-color-profile=srgb",
        # The pages are on 127.0.0.1; any other name fails to resolve: no network.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to sandbox as root
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.unhandled_prompt_behavior = "ignore"  # an alert stays open to be seen
    log = tmp_path_factory.mktemp("chromedriver") / "chromedriver.log"
    service = Service(executable_path=chromedriver, log_output=str(log))
    try:
        browser = webdriver.Chrome(service=service, options=options)
    except WebDriverException as exc:
        pytest.fail(f"headless Chromium did not start ({exc.msg}); see {log}", pytrace=False)
    browser.set_page_load_timeout(WAIT)
    yield browser
    browser.quit()


def _public_site(name: str, *, hostile: bool) -> Any:
    """A module's fixture: a public schedule's edition of the demo news (and, with
    ``hostile``, the hostile items) on the real endpoint, as (site, edition)."""

    @pytest.fixture(scope="module", name=name)
    def site_and_edition(
        fresh_databases: FreshDatabases, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[tuple[Site, Edition]]:
        with (
            fresh_databases.fresh(tmp_path_factory.mktemp(name)) as url,
            contextmanager(open_site)(url, WebSettings(public=["daily"], search=True)) as site,
        ):
            yield site, built(site, datetime.now(UTC), hostile=hostile)

    return site_and_edition


hostile_site = _public_site("hostile_site", hostile=True)
demo_site = _public_site("demo_site", hostile=False)  # what the committed screenshots show


def until(driver: Any, condition: Callable[[Any], Any], what: str) -> Any:
    return WebDriverWait(driver, WAIT).until(condition, f"waited {WAIT} s for {what}")


def view(driver: Any, size: tuple[int, int], *, dark: bool = False) -> None:
    """Emulate a screen (a phone's below 768 px wide) and a color scheme."""
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 768},
    )
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]},
    )


def load(driver: Any, site: Site, path: str) -> None:
    """Open ``path`` and wait until it is loaded with its stylesheet."""
    driver.get(site.server.url(path))
    until(
        driver,
        lambda d: d.execute_script(
            "return document.readyState === 'complete' && document.styleSheets.length > 0"
            " && document.styleSheets[0].cssRules.length > 0"
        ),
        f"{path} and its stylesheet",
    )


def style(driver: Any, selector: str, prop: str) -> str:
    return str(
        driver.execute_script(
            "return getComputedStyle(document.querySelector(arguments[0]))[arguments[1]]",
            selector,
            prop,
        )
    )


def rgb(color: str) -> tuple[int, ...]:
    """``rgb(1, 2, 3)`` as (1, 2, 3)."""
    return tuple(int(part) for part in color.split("(", 1)[1].rstrip(")").split(",")[:3])


def no_script_ran(driver: Any, title: str) -> None:
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018 (the property raises when no alert is open)
    assert driver.title == title  # the hostile title's script would have set 'pwned'
    assert driver.find_elements(By.CSS_SELECTOR, "script, img, iframe, object, embed") == []
    handlers = driver.execute_script(
        "return [...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
        ".map(a => a.name).filter(n => n.startsWith('on'))"
    )
    assert handlers == []
    schemes = driver.execute_script("return [...document.links].map(a => a.protocol)")
    assert set(schemes) <= {"http:", "https:"}


def loaded_only_the_stylesheet(driver: Any, site: Site) -> None:
    """The page's own stylesheet is all it fetched, and nothing failed or broke
    the policy (Chromium asks for /favicon.ico by itself: answered, empty)."""
    stylesheet = site.server.url(f"/static/{STYLESHEET_NAME}")
    favicon = site.server.url("/favicon.ico")
    fetched = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert stylesheet in fetched and set(fetched) <= {stylesheet, favicon}
    complaints = [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"] or entry["level"] == "SEVERE"
    ]
    assert complaints == []


def fits(driver: Any, width: int) -> None:
    """Nothing is wider than the screen: no sideways scrolling."""
    inner, scroll = driver.execute_script(
        "return [window.innerWidth, document.documentElement.scrollWidth]"
    )
    assert inner == width
    assert scroll <= inner, f"the page is {scroll} px wide on a {inner} px screen"


def test_an_edition_shows_every_story_as_text_and_runs_no_script(
    driver: Any, hostile_site: tuple[Site, Edition]
) -> None:
    site, edition = hostile_site
    view(driver, DESKTOP)
    driver.get_log("browser")  # only this page's messages are asserted on
    load(driver, site, f"/e/daily/{edition.edition_date}")
    text = driver.find_element(By.TAG_NAME, "body").text
    heading = f"今日要闻 · {edition.edition_date}"
    assert heading in text
    digest = site.engine.edition_digest(edition.id)
    titles = [item.title for section in digest.sections for item in section.items]
    assert {title for title, _body in HOSTILE} <= set(titles)
    for title in titles:
        assert title in text  # the hostile ones literally, markup and all
    assert "<b>Evil</b> Daily" in text
    no_script_ran(driver, heading)
    loaded_only_the_stylesheet(driver, site)


def test_the_stylesheet_applies_in_light_and_dark_and_fits_a_phone(
    driver: Any, hostile_site: tuple[Site, Edition]
) -> None:
    site, edition = hostile_site
    view(driver, PHONE)
    load(driver, site, f"/e/daily/{edition.edition_date}")
    line = float(style(driver, "body", "lineHeight").removesuffix("px"))
    size = float(style(driver, "body", "fontSize").removesuffix("px"))
    assert line > 1.5 * size  # Chinese text gets room between its lines
    fits(driver, PHONE[0])
    light_background = style(driver, "body", "backgroundColor")
    light_text = rgb(style(driver, "body", "color"))
    view(driver, PHONE, dark=True)
    until(
        driver,
        lambda d: style(d, "body", "backgroundColor") != light_background,
        "the dark background",
    )
    dark_background = rgb(style(driver, "body", "backgroundColor"))
    dark_text = rgb(style(driver, "body", "color"))
    assert sum(dark_background) < sum(rgb(light_background))
    assert sum(dark_text) > sum(light_text)
    fits(driver, PHONE[0])


def test_search_shows_the_engines_hits_highlighted_and_a_hostile_query_as_text(
    driver: Any, hostile_site: tuple[Site, Edition]
) -> None:
    site, _edition = hostile_site
    view(driver, PHONE)
    load(driver, site, "/search?" + urlencode({"q": "临江"}))
    found = site.engine.search("临江")
    shown = [h3.text for h3 in driver.find_elements(By.CSS_SELECTOR, ".hits h3")]
    assert shown == [hit.title for hit in found.results.hits] != []
    for hit in driver.find_elements(By.CSS_SELECTOR, ".hits > li"):
        assert "临江" in {b.text for b in hit.find_elements(By.TAG_NAME, "b")}
    fits(driver, PHONE[0])
    hostile = "<script>alert(1)</script>"
    load(driver, site, "/search?" + urlencode({"q": hostile}))
    assert driver.find_element(By.NAME, "q").get_attribute("value") == hostile
    assert f"「{hostile}」" in driver.find_element(By.CSS_SELECTOR, "main .meta").text
    no_script_ran(driver, f"搜索 · {hostile}")


def test_screenshots_of_the_pages_at_a_phones_and_a_desktops_width(
    driver: Any, demo_site: tuple[Site, Edition], tmp_path: Path
) -> None:
    site, edition = demo_site
    folder = SCREENSHOTS if os.environ.get(SCREENSHOTS_ENV) == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page = f"/e/daily/{edition.edition_date}"
    search = "/search?" + urlencode({"q": "临江"})
    shots = [
        ("edition-mobile.png", page, PHONE, False),
        ("edition-desktop.png", page, DESKTOP, False),
        ("edition-dark-mobile.png", page, PHONE, True),
        ("search-mobile.png", search, PHONE, False),
    ]
    for name, path, size, dark in shots:
        view(driver, size, dark=dark)
        load(driver, site, path)
        fits(driver, size[0])
        (folder / name).write_bytes(full_page_png(driver))
        assert (folder / name).stat().st_size < MAX_SCREENSHOT_BYTES


def full_page_png(driver: Any) -> bytes:
    """The whole page, beyond the screen's height."""
    content = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "scale": 1} | {k: content[k] for k in ("width", "height")},
        },
    )
    return base64.b64decode(shot["data"])
