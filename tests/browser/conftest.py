"""Browser fixtures: the test app served on a loopback port from a thread, Debian's Chromium
driven by Playwright (never `playwright install`), and a page that records console errors and
Content-Security-Policy violations so a test can assert there were none.

Skipped with a reason when Chromium or Playwright is missing on a developer machine; in CI
(`CI` set) a missing browser fails instead."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def _browser_problem() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


def need_browser() -> None:
    problem = _browser_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {problem}")
        pytest.skip(problem)


@pytest.fixture
def live_server(app, db):
    """The test app served on a loopback port from a thread, on the test database. The test's
    own session holds no transaction while the server runs (the server thread writes)."""
    from werkzeug.serving import make_server

    need_browser()
    db.session.commit()
    db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def _playwright():
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
    yield browser
    browser.close()


class PageProblems:
    """Console errors and CSP violations seen by the pages of one browser context."""

    def __init__(self):
        self.console_errors: list[str] = []
        self.csp_violations: list[str] = []

    def watch(self, page) -> None:
        def on_console(message):
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
                self.csp_violations.append(message.text)
            elif message.type == "error":
                self.console_errors.append(f"{page.url}: {message.text}")
        page.on("console", on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"{page.url}: {error}"))

    def assert_none(self) -> None:
        assert self.csp_violations == [], self.csp_violations
        assert self.console_errors == [], self.console_errors


@pytest.fixture
def open_page(browser, live_server):
    """open_page(locale="en-GB", viewport=DESKTOP) -> (page, problems): a fresh browser context
    (its own cookies) with one page, watched for console errors and CSP violations."""
    contexts = []

    def make(locale: str = "en-GB", viewport: dict | None = None):
        context = browser.new_context(locale=locale, viewport=viewport or DESKTOP)
        context.set_default_timeout(10_000)
        contexts.append(context)
        problems = PageProblems()
        page = context.new_page()
        problems.watch(page)
        return page, problems

    yield make
    for context in contexts:
        context.close()


def sign_in_page(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person does."""
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"sign-in as {username} failed: {page.url}"


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than its viewport (0 when nothing scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def accessibility_problems(page) -> list[str]:
    """axe-core's critical and serious violations on the page as it is (axe-playwright-python,
    which bundles axe-core; injected through the DevTools protocol, so the page's CSP stays)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] if isinstance(n["target"][0], str)
                                                                     else str(n["target"]) for n in v["nodes"][:3])
            for v in results.response["violations"] if v.get("impact") in ("critical", "serious")]


def widest_elements(page) -> list[str]:
    """The elements that reach past the viewport's right edge (deepest first), to say what to fix."""
    return page.evaluate("""() => {
        const out = [];
        const clipped = (el) => {
            for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
                if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true;
            }
            return false;
        };
        for (const el of document.querySelectorAll('body *')) {
            const r = el.getBoundingClientRect();
            if (r.right > window.innerWidth + 1 && !clipped(el)) {
                const named = typeof el.className === 'string' && el.className;
                const cls = named ? '.' + el.className.split(' ').join('.') : '';
                out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + cls + ' ' + Math.round(r.right));
            }
        }
        out.push('scrollWidth now ' + document.documentElement.scrollWidth + ', body ' + document.body.scrollWidth);
        return out.slice(0, 8);
    }""")


def small_targets(page) -> list[str]:
    """Buttons, fields, menus and header links a finger cannot hit: under 24 CSS px high (WCAG 2.5.8;
    links inside a sentence and check boxes with their label are exempt, as the rule allows)."""
    return page.evaluate("""() => {
        const out = [];
        const targets = 'button, select, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), ' +
                        'textarea, summary, header.site a, nav.filters a, nav.case-sections a';
        for (const el of document.querySelectorAll(targets)) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
            if (r.height < 23.5) out.push(el.tagName.toLowerCase() + ' "' + (el.innerText || el.name || '').trim()
                                          .slice(0, 30) + '" ' + Math.round(r.height) + 'px');
        }
        return out.slice(0, 8);
    }""")


class Walk:
    """A journey's pages: each one visited is checked as a person meets it — axe-core finds no
    critical or serious violation, at 390 px nothing scrolls sideways — and photographed to
    tests/artifacts/ (console errors and CSP violations are asserted at the end, `done()`)."""

    def __init__(self, page, problems, name: str):
        self.page, self.problems, self.name, self.step = page, problems, name, 0
        self.widths: dict[str, int] = {}

    def check(self, label: str) -> None:
        page = self.page
        page.wait_for_load_state()
        self.step += 1
        found = accessibility_problems(page)
        assert found == [], f"{self.name} step {self.step} ({label}, {page.url}): {found}"
        size = page.viewport_size or DESKTOP
        screenshot(page, f"journey-{self.name}-{self.step:02d}-{label}")
        page.screenshot(path=str(ARTIFACTS / f"journey-{self.name}-{self.step:02d}-{label}-screen.png"))
        page.set_viewport_size(PHONE)
        width = page.evaluate("document.documentElement.scrollWidth")
        self.widths[label] = width
        assert width <= PHONE["width"], (f"{self.name} step {self.step} ({label}): {width} px wide at 390 px; "
                                         f"widest: {widest_elements(page)}")
        small = small_targets(page)
        assert small == [], f"{self.name} step {self.step} ({label}): tap targets under 24 px at 390 px: {small}"
        screenshot(page, f"journey-{self.name}-{self.step:02d}-{label}-390")
        page.screenshot(path=str(ARTIFACTS / f"journey-{self.name}-{self.step:02d}-{label}-390-screen.png"))
        page.set_viewport_size(size)

    def menu(self, group: str, link: str) -> None:
        """Open the header's `group` menu and follow its `link`, as a person does."""
        open_menu(self.page, group, link)

    def done(self) -> None:
        self.problems.assert_none()


def open_menu(page, group: str, link: str) -> None:
    nav = page.locator("header.site nav.wide")
    nav.locator("summary", has_text=group).click()
    nav.get_by_role("link", name=link).click()
    page.wait_for_load_state()


def ask_to_be_called(crisis, page) -> None:
    """On a crisis result: fill the call-back form in its box and send it."""
    crisis.get_by_label("Your name", exact=True).fill("Ann")
    crisis.get_by_label("Phone number", exact=True).fill("555 0123 456")
    crisis.get_by_label("Evening (17:00–20:00)").check()
    crisis.get_by_label("I agree that the service stores my name").check()
    crisis.get_by_role("button", name="Please call me").click()
    assert page.get_by_text("We have your request").is_visible()


def answer_phq9_with_item9_positive(page) -> None:
    """On the PHQ-9 page: "Not at all" to items 1-8 and "Several days" to item 9 (total 1)."""
    for number in range(1, 9):
        page.get_by_role("group", name=f"{number}.", exact=False).get_by_label("Not at all").check()
    page.locator("#item-9").get_by_label("Several days").check()
