"""Headless Chromium (Debian's chromium and chromium-driver) through Selenium, with the helpers the portal
tests share: log in, wait, full-page screenshots at a given width, and the console's errors."""

import base64
import os
import re
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("DTP_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("DTP_CHROMEDRIVER", "/usr/bin/chromedriver")


class Browser:
    """One browser window at a fixed CSS width (390 emulates a phone), in light or dark."""

    def __init__(self, base, shots, width=1280, height=900, dark=False, name="browser"):
        self.base = base
        self.shots = shots
        self.width = width
        self.height = height
        self.dark = dark
        self.name = name
        self.console = []
        self.allowed = []
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--hide-scrollbars", "--no-first-run", "--disable-extensions",
                         f"--window-size={max(width, 500)},{height}"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(30)
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
            "features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})

    # Navigation and waiting

    def open(self, path="/"):
        self.driver.get(self.base + path)

    def wait(self, condition, timeout=20, what="a condition"):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2,
                                 ignored_exceptions=(StaleElementReferenceException,)).until(lambda _: condition())
        except Exception as error:
            raise AssertionError(f"{self.name}: timed out after {timeout} s waiting for {what}") from error

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def present(self, css):
        return bool(self.all(css))

    def visible(self, css):
        return any(node.is_displayed() for node in self.all(css))

    def wait_visible(self, css, timeout=20):
        return self.wait(lambda: next((n for n in self.all(css) if n.is_displayed()), None), timeout, css)

    def wait_gone(self, css, timeout=20):
        self.wait(lambda: not self.present(css), timeout, f"{css} to go")

    def text(self, css):
        return self.find(css).text

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def fill(self, css, value):
        """Types `value` into a field after emptying it the way a person would (so `input` fires)."""
        node = self.find(css)
        node.clear()
        if value:
            node.send_keys(value)
        else:
            self.js("arguments[0].dispatchEvent(new Event('input', {bubbles: true}))", node)
        return node

    def click(self, css):
        node = self.wait_visible(css)
        node.click()
        return node

    def select(self, css, value):
        self.wait(lambda: self.js(
            "return [...document.querySelector(arguments[0]).options].some(o => o.value === arguments[1])", css, value),
            what=f"option {value} in {css}")
        self.js("const s = document.querySelector(arguments[0]); s.value = arguments[1];"
                "s.dispatchEvent(new Event('change', {bubbles: true}))", css, value)

    # Session

    def login(self, username, password):
        self.open("/")
        self.wait_visible("#login-username")
        self.fill("#login-username", username)
        self.fill("#login-password", password)
        self.click("#login-submit")
        self.wait(lambda: self.js("return document.body.dataset.user || ''") == username, 20, f"{username} to log in")
        self.wait_visible("#twin-cards")

    # Evidence

    def screenshot(self, name):
        """A full-page PNG of the current page at this browser's width."""
        time.sleep(0.3)
        content = self.js("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
        height = int(min(max(content, self.height), 6000))
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1}})
        suffix = "-dark" if self.dark else ""
        path = os.path.join(self.shots, f"{name}-{self.width}{suffix}.png")
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(shot["data"]))
        return path

    def allow_console(self, pattern):
        """An error line the test provokes on purpose (such as the 401 of a wrong password)."""
        self.allowed.append(re.compile(pattern))

    def collect_console(self):
        for entry in self.driver.get_log("browser"):
            self.console.append(entry)

    def discard_console(self):
        self.driver.get_log("browser")

    def console_errors(self):
        self.collect_console()
        errors = []
        for entry in self.console:
            if entry.get("level") != "SEVERE":
                continue
            message = entry.get("message", "")
            if any(pattern.search(message) for pattern in self.allowed):
                continue
            errors.append(message)
        return errors

    def quit(self):
        try:
            self.driver.quit()
        except Exception:  # noqa: BLE001 - a browser that is already gone is fine
            pass
