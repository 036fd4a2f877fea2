"""The portal's browser tests, in headless Chromium, against the real running suite.

    python3 Tests/Browser/run.py --bin-dir .build/debug --home .dtp/test --shots .dtp/test/screenshots

Starts registry, discovery, gateway, ingestor, lift and hvac (see suite.py), runs every test in order
(later tests build on the twin and sessions of earlier ones), saves screenshots of the main pages at
1280 px and 390 px, light and dark, and stops the suite. The last line is "N passed, M failed"."""

import argparse
import os
import re
import sys
import tempfile
import time
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from browser import Browser  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from suite import Suite, call, wait_for, HTTPError  # noqa: E402

ADMIN = ("admin@example.com", "admin12345")
DEMO = ("demo@example.com", "demo12345")
LIFT, HVAC = "dt:Lift_001", "dt:EnergyHVAC_001"


def card(twin_id):
    return f'article.card[data-twin="{twin_id}"]'


class Context:
    def __init__(self, suite, shots):
        self.suite = suite
        self.shots = shots
        self.gateway = suite.url("gateway")
        self.browsers = []
        self.run_id = uuid.uuid4().hex[:8]
        self.new_twin = f"dt:Browser_{self.run_id}"
        self.demo = None
        self.admin = None
        self.demo_first_access = None

    def browser(self, **options):
        browser = Browser(self.gateway, self.shots, **options)
        self.browsers.append(browser)
        return browser

    def admin_token(self):
        _, body = call("POST", self.gateway + "/api/token/", {"username": ADMIN[0], "password": ADMIN[1]})
        return body["access"]


# The tests, in order.

def test_login_page_validates_and_shows_the_servers_detail(ctx):
    demo = ctx.demo = ctx.browser(name="demo")
    demo.open("/")
    demo.wait_visible("#login-username")
    demo.screenshot("login")
    demo.click("#login-submit")
    demo.wait(lambda: "Enter a username and a password" in demo.text("#login-error"), what="the empty-form message")
    demo.fill("#login-username", DEMO[0])
    demo.fill("#login-password", "not-the-password")
    demo.allow_console(r"/api/token/ .*401")
    demo.click("#login-submit")
    demo.wait(lambda: "No active account found with the given credentials" in demo.text("#login-error"),
              what="the gateway's 401 detail")
    assert demo.driver.switch_to.active_element.get_attribute("id") == "login-password", "focus returns to the password"


def test_demo_logs_in_and_sees_lift_and_hvac_with_live_last_data(ctx):
    demo = ctx.demo
    # From the keyboard only: the username field has focus, Tab moves to the password, Enter submits.
    demo.fill("#login-username", DEMO[0])
    demo.find("#login-username").send_keys(Keys.TAB)
    focused = demo.driver.switch_to.active_element
    assert focused.get_attribute("id") == "login-password", "Tab leads from the username to the password"
    focused.clear()
    focused.send_keys(DEMO[1], Keys.ENTER)
    demo.wait(lambda: demo.js("return document.body.dataset.user || ''") == DEMO[0], 20, "the keyboard login")
    for twin in (LIFT, HVAC):
        demo.wait_visible(card(twin), 30)
    assert "Lift Maintenance" in demo.text(card(LIFT) + " .card-title")
    assert "Energy & HVAC" in demo.text(card(HVAC) + " .card-title")
    assert demo.text(card(LIFT) + " .badge") == "instantiated"
    assert "Lift" in [chip.text for chip in demo.all(card(LIFT) + " .chip-domain")]
    assert demo.find(card(LIFT) + " a[data-role=ui]").get_attribute("href").rstrip("/") == ctx.suite.url("lift")
    pattern = re.compile(r"last data (\d+) s ago")
    for twin in (LIFT, HVAC):
        demo.wait(lambda t=twin: pattern.search(demo.text(card(t) + " .lastdata")), 60, f"last data of {twin}")
    first = demo.text(card(LIFT) + " .lastdata")
    demo.wait(lambda: demo.text(card(LIFT) + " .lastdata") != first, 5, "last data to tick")
    assert "fresh" in demo.find(card(LIFT) + " .lastdata").get_attribute("class")
    assert not demo.visible("nav a[data-nav=admin]"), "a plain user sees no admin link"
    ctx.demo_first_access = demo.js("return JSON.parse(localStorage.getItem('dtp.session')).access")


def test_admin_logs_in_as_staff_with_mine_all_toggle(ctx):
    admin = ctx.admin = ctx.browser(name="admin")
    admin.login(*ADMIN)
    admin.wait_visible("#user-role")
    admin.wait_visible("nav a[data-nav=admin]")
    admin.wait_visible(card(LIFT), 30)
    admin.click("button[data-scope=all]")
    admin.wait(lambda: admin.find("button[data-scope=all]").get_attribute("aria-pressed") == "true", what="all pressed")
    admin.wait_visible(card(HVAC))
    admin.fill("#twin-search", "hvac")
    admin.wait_gone(card(LIFT))
    admin.fill("#twin-search", "")
    admin.select("#filter-domain", "Lift")
    admin.wait_gone(card(HVAC))
    admin.select("#filter-domain", "")
    admin.wait_visible(card(HVAC))
    admin.wait_visible('.hb[data-health="Database"][data-state="ok"]')
    admin.screenshot("twins")


def test_a_twin_created_through_the_api_appears_without_a_reload(ctx):
    for browser in (ctx.demo, ctx.admin):
        browser.js("window.__noReload = 'still here'")
    twin = {
        "@id": ctx.new_twin, "tenant": "demo",
        "metadata": {"name": f"Browser twin {ctx.run_id}", "status": "active", "domain": ["Browser", "Lift"]},
        "interfaces": {"api": ctx.suite.url("lift"), "data_streams": [{"protocol": "MQTT", "topic": f"dtp/browser/{ctx.run_id}"}]},
        "dependencies": {"static": [LIFT], "dynamic": []},
    }
    status, _ = call("POST", ctx.gateway + "/api/registry/twins", twin, token=ctx.admin_token())
    assert status == 201, status
    for browser in (ctx.demo, ctx.admin):
        browser.wait_visible(card(ctx.new_twin), 10)
        assert browser.js("return window.__noReload") == "still here", f"{browser.name} reloaded the page"
    assert ctx.demo.text(card(ctx.new_twin) + " .badge") == "active"


def test_a_deprecated_twin_greys_out_live(ctx):
    status, _ = call("DELETE", ctx.gateway + f"/api/registry/twins/{ctx.new_twin}?soft=true", token=ctx.admin_token())
    assert status == 200
    ctx.demo.wait(lambda: "is-deprecated" in ctx.demo.find(card(ctx.new_twin)).get_attribute("class"), 10,
                  "the card to grey out")
    assert ctx.demo.text(card(ctx.new_twin) + " .badge") == "deprecated"
    assert ctx.demo.js("return window.__noReload") == "still here"


def test_revoking_a_grant_removes_the_card_from_the_demo_session(ctx):
    admin = ctx.admin
    admin.open("/#/admin/grants")
    row = f'#table-grants tr:has(button[aria-label*="for {DEMO[0]}"])'
    admin.wait(lambda: any(ctx.run_id in r.text for r in admin.all(row)), 10, "the demo grant of the new twin")
    admin.screenshot("admin-grants")
    target = next(r for r in admin.all(row) if ctx.run_id in r.text)
    target.find_element("css selector", "button[data-action=revoke]").click()
    admin.wait_visible("#confirm")
    admin.click("#confirm-ok")
    ctx.demo.wait_gone(card(ctx.new_twin), 10)
    assert ctx.demo.js("return window.__noReload") == "still here"
    # Grant it back through the form: the card returns.
    admin.select("#grant-user", DEMO[0])
    option = admin.js("return [...document.querySelector('#grant-twin').options]"
                      ".find(o => o.textContent.includes(arguments[0]))?.value", ctx.run_id)
    admin.select("#grant-twin", option)
    admin.click('form[aria-label="Grant"] button[type=submit]')
    admin.wait_visible('form[aria-label="Grant"] .form-ok')
    ctx.demo.wait_visible(card(ctx.new_twin), 10)


def test_admin_users_form(ctx):
    admin = ctx.admin
    user = f"browser-{ctx.run_id}@example.com"
    admin.open("/#/admin/users")
    admin.wait_visible("#user-username")
    admin.fill("#user-username", user)
    admin.fill("#user-password", "short")
    admin.click('form[aria-label="Create user"] button[type=submit]')
    admin.wait(lambda: admin.text('form[aria-label="Create user"] .form-error').startswith("Password:"),
               what="the client-side password message")
    admin.fill("#user-password", "browser-pass-123")
    admin.click('form[aria-label="Create user"] button[type=submit]')
    admin.wait(lambda: user in admin.text("#table-users"), 10, "the new user in the table")
    admin.fill("#user-username", user)
    admin.fill("#user-password", "browser-pass-123")
    admin.allow_console(r"/api/admin/users .*409")
    admin.click('form[aria-label="Create user"] button[type=submit]')
    admin.wait(lambda: admin.visible('form[aria-label="Create user"] .form-error'), 10, "the server's detail")
    detail = admin.text('form[aria-label="Create user"] .form-error')
    assert "exist" in detail.lower(), detail
    admin.screenshot("admin-users")
    admin.click(f'#table-users button[aria-label="Delete {user}"]')
    admin.click("#confirm-ok")
    admin.wait(lambda: user not in admin.text("#table-users"), 10, "the user to go")


def test_admin_twin_cards_form(ctx):
    admin = ctx.admin
    name = f"Browser card {ctx.run_id}"
    admin.open("/#/admin/cards")
    admin.wait_visible("#card-name")
    admin.fill("#card-ui", "not a url")
    admin.click('form[aria-label="Create twin card"] button[type=submit]')
    admin.wait(lambda: admin.visible('form[aria-label="Create twin card"] .form-error'), what="the missing-name message")
    admin.fill("#card-name", name)
    admin.fill("#card-ui", "http://127.0.0.1:9/ui")
    admin.click('form[aria-label="Create twin card"] button[type=submit]')
    admin.wait(lambda: name in admin.text("#table-twins"), 10, "the new card")
    admin.click(f'#table-twins button[aria-label="Delete {name}"]')
    admin.click("#confirm-ok")
    admin.wait(lambda: name not in admin.text("#table-twins"), 10, "the card to go")


def test_admin_service_grants_form(ctx):
    admin = ctx.admin
    admin.open("/#/admin/service-grants")
    admin.wait_visible("#sgrant-user")
    admin.select("#sgrant-user", DEMO[0])
    service = admin.wait(lambda: admin.js(
        "return [...document.querySelector('#sgrant-service').options].find(o => o.textContent.startsWith('dtp-lift'))?.value"),
        30, "the dtp-lift service")
    admin.select("#sgrant-service", service)
    admin.click('form[aria-label="Grant service"] button[type=submit]')
    row = f'#table-service-grants button[aria-label*="for {DEMO[0]}"][data-action=revoke]'
    admin.wait_visible(row, 10)
    admin.screenshot("admin-service-grants")
    admin.click(row)
    admin.click("#confirm-ok")
    admin.wait_gone(row, 10)


def test_admin_scan_shows_the_result(ctx):
    admin = ctx.admin
    admin.open("/#/admin/scan")
    admin.click("#scan-button")
    admin.wait_visible("#scan-summary .stats", 30)
    assert not admin.present("#admin-scan .form-error"), admin.text("#admin-scan")
    tiles = {tile.find_element("css selector", ".stat-label").text.lower(): tile.find_element("css selector", ".stat-value").text
             for tile in admin.all("#scan-summary .stat")}
    assert tiles.get("files read") not in (None, "0"), tiles
    assert tiles.get("failed") == "0", tiles
    assert '"ok": true' in admin.js("return document.querySelector('#scan-result').textContent")
    admin.screenshot("admin-scan")


def test_twin_detail_graph_artifacts_and_history(ctx):
    admin = ctx.admin
    admin.open(f"/#/twin/{ctx.new_twin}")
    admin.wait(lambda: f"Browser twin {ctx.run_id}" in admin.text("#twin-title"), 10, "the twin's title")
    assert f"dtp/browser/{ctx.run_id}" in admin.text("#twin-streams")
    link = admin.wait_visible(f'#twin-graph svg a.node[href="#/twin/{LIFT}"]', 10)
    assert admin.present("#twin-graph svg .node.root")
    admin.wait(lambda: len(admin.all("#history-list li")) >= 2, 10, "two revisions")
    history = admin.text("#history-list").lower()
    assert "create" in history and ("deprecate" in history or "update" in history), history
    # Upload, list, download.
    content = f"artifact of {ctx.run_id}\n"
    path = os.path.join(tempfile.mkdtemp(), f"notes-{ctx.run_id}.txt")
    with open(path, "w") as handle:
        handle.write(content)
    admin.find("#artifact-file").send_keys(path)
    admin.click("#artifact-upload")
    row = f'#artifacts-table tr[data-artifact="notes-{ctx.run_id}.txt"]'
    admin.wait_visible(row, 15)
    admin.screenshot("twin-detail")
    before = set(admin.driver.window_handles)
    # The download tab shows S3's own page, whose missing favicon is S3's, not the portal's.
    admin.allow_console(re.escape(ctx.suite.env_file.get("MINIO_ENDPOINT", "http://s3.invalid")) + r"/favicon\.ico ")
    admin.click(row + " button[aria-label^=Download]")
    admin.wait(lambda: len(set(admin.driver.window_handles) - before) == 1, 10, "the download tab")
    main = admin.driver.current_window_handle
    admin.driver.switch_to.window((set(admin.driver.window_handles) - before).pop())
    admin.wait(lambda: content.strip() in admin.driver.find_element("tag name", "body").text, 15, "the artifact's bytes")
    admin.driver.close()
    admin.driver.switch_to.window(main)
    # A neighbour in the graph links to its page.
    admin.wait_visible(f'#twin-graph svg a.node[href="#/twin/{LIFT}"]').click()
    admin.wait(lambda: "Lift Maintenance" in admin.text("#twin-title"), 10, "the neighbour's page")
    admin.wait(lambda: admin.present(f'#twin-graph svg a.node[href="#/twin/{ctx.new_twin}"]'), 10,
               "the new twin as a dependant of the lift")
    assert link is not None


def test_services_list_and_health_badges(ctx):
    admin = ctx.admin
    admin.open("/#/services")
    for name in ("dtp-lift", "dtp-hvac"):
        admin.wait_visible(f'#services-table tr[data-service="{name}"] .hb.ok', 30)
    for badge in ("Gateway", "Database", "InfluxDB", "Ingestor"):
        admin.wait_visible(f'.hb[data-health="{badge}"][data-state="ok"]', 20)
    assert admin.find(".healthbar .updated").text.startswith("Updated")
    admin.screenshot("services")


def test_twin_uis_draw_charts_with_data(ctx):
    ui = ctx.browser(name="twin-ui")
    ui.driver.get(ctx.suite.url("lift") + "/")
    points = "return (document.querySelector(arguments[0] + ' path[stroke]')?.getAttribute('d') || '').split('L').length"
    ui.wait(lambda: ui.js(points, "#chart") >= 3, 30, "RMS points")
    assert ui.present("#chart .threshold"), "the threshold line"
    alerts_before = len(ui.all("#alerts tr .badge"))
    ui.click("#trigger")
    ui.wait(lambda: "sent" in ui.text("#trigger-note").lower(), 10, "the test alert to be sent")
    ui.wait(lambda: len(ui.all("#alerts tr .badge")) > alerts_before, 10, "the alert in the list")
    ui.screenshot("lift-ui")
    ui.driver.get(ctx.suite.url("hvac") + "/")
    for chart in ("#power", "#kwh-chart", "#cost-chart"):
        ui.wait(lambda c=chart: ui.js(points, c) >= 3, 30, f"points in {chart}")
    ui.wait(lambda: len(ui.all("#state-timeline rect.segment")) >= 1, 10, "the HVAC state timeline")
    ui.screenshot("hvac-ui")


def test_phone_width_and_dark_screenshots(ctx):
    phone = ctx.browser(name="phone", width=390, height=844)
    phone.login(*ADMIN)
    phone.wait_visible(card(LIFT), 20)
    phone.screenshot("twins")
    width = phone.js("return document.documentElement.scrollWidth")
    assert width <= 390, f"the twins page scrolls sideways at 390 px ({width} px)"
    for path, name, ready in ((f"/#/twin/{LIFT}", "twin-detail", "#twin-title"), ("/#/services", "services", "#services-table"),
                              ("/#/admin/users", "admin-users", "#table-users tbody tr"),
                              ("/#/admin/grants", "admin-grants", "#table-grants tbody tr")):
        phone.open(path)
        phone.wait_visible(ready, 15)
        phone.screenshot(name)
    phone.driver.get(ctx.suite.url("lift") + "/")
    phone.wait(lambda: phone.present("#chart path"), 15, "the lift chart")
    phone.screenshot("lift-ui")
    phone.driver.get(ctx.suite.url("hvac") + "/")
    phone.wait(lambda: phone.present("#power path"), 15, "the power chart")
    phone.screenshot("hvac-ui")
    phone.open("/")
    phone.wait_visible("#twin-cards")
    phone.click("#logout")
    phone.wait_visible("#login-username")
    phone.screenshot("login")
    for width, height in ((1280, 900), (390, 844)):
        dark = ctx.browser(name=f"dark-{width}", width=width, height=height, dark=True)
        dark.login(*DEMO)
        dark.wait_visible(card(LIFT), 20)
        dark.screenshot("twins")
        dark.open(f"/#/twin/{LIFT}")
        dark.wait_visible("#twin-title", 15)
        dark.screenshot("twin-detail")


def test_the_session_survives_a_reload_and_refreshes_silently(ctx):
    demo = ctx.demo
    demo.driver.refresh()
    demo.wait_visible(card(LIFT), 20)
    assert not demo.present("#login-username"), "a reload asked for the password again"
    # Access tokens live 60 s in this run and the portal refreshes 30 s before expiry.
    demo.wait(lambda: demo.js("return JSON.parse(localStorage.getItem('dtp.session')).access") != ctx.demo_first_access,
              60, "a silent token refresh")
    demo.js("window.__noReload = 'still here'")


def test_reconnect_banner_while_the_gateway_restarts(ctx):
    demo = ctx.demo
    for browser in ctx.browsers:
        browser.collect_console()
    ctx.suite.stop_one("gateway")
    demo.wait_visible("#banner", 30)
    assert "reconnect" in demo.text("#banner").lower()
    demo.screenshot("reconnecting")
    ctx.suite.start_one("gateway")
    ctx.suite.wait_healthy("gateway")
    demo.wait(lambda: not demo.visible("#banner"), 40, "the banner to go")
    # Every open portal lost its connection too; once each is live again, the connection-refused lines
    # of the outage (the point of this test) are dropped from the console check.
    for browser in ctx.browsers:
        if browser.js("return document.body && document.body.dataset.stream || null") is not None:
            browser.wait(lambda b=browser: b.js("return document.body.dataset.stream") == "open", 40, "the stream again")
    for browser in ctx.browsers:
        browser.discard_console()
    twin_id = f"dt:BrowserAfter_{ctx.run_id}"
    call("POST", ctx.gateway + "/api/registry/twins",
         {"@id": twin_id, "tenant": "demo", "metadata": {"name": "After the restart", "domain": ["Browser"]}},
         token=ctx.admin_token())
    demo.wait_visible(card(twin_id), 15)
    assert demo.js("return window.__noReload") == "still here"


def test_logout_ends_the_session(ctx):
    demo = ctx.demo
    demo.click("#logout")
    demo.wait_visible("#login-username")
    assert demo.js("return localStorage.getItem('dtp.session')") is None
    demo.driver.refresh()
    demo.wait_visible("#login-username")


def test_the_console_has_no_errors(ctx):
    problems = []
    for browser in ctx.browsers:
        for message in browser.console_errors():
            problems.append(f"{browser.name}: {message}")
    assert not problems, "console errors:\n  " + "\n  ".join(problems)


TESTS = [value for name, value in list(globals().items()) if name.startswith("test_")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--shots", required=True)
    parser.add_argument("--logs", help="where the services' logs go (default: <home>/browser-logs)")
    parser.add_argument("--root", default=os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
    arguments = parser.parse_args()
    os.makedirs(arguments.shots, exist_ok=True)
    for old in os.listdir(arguments.shots):
        if old.endswith(".png"):
            os.remove(os.path.join(arguments.shots, old))
    suite = Suite(arguments.root, arguments.home, os.path.abspath(arguments.bin_dir),
                  arguments.logs or os.path.join(arguments.home, "browser-logs"))
    passed = failed = 0
    try:
        started = time.monotonic()
        suite.start()
        ctx = Context(suite, arguments.shots)
        token = ctx.admin_token()
        wait_for("the demo twins in the gateway", lambda: {LIFT, HVAC} <= {
            t["twin_id"] for t in call("GET", ctx.gateway + "/api/registry/twins?scope=all", token=token)[1]}, 90)
        print(f"browser: suite up in {time.monotonic() - started:.1f} s", flush=True)
        for test in TESTS:
            began = time.monotonic()
            try:
                test(ctx)
                passed += 1
                print(f"✔ browser {test.__name__} ({time.monotonic() - began:.1f} s)", flush=True)
            except Exception as error:  # noqa: BLE001 - every failure is reported, then the run goes on
                failed += 1
                print(f"✘ browser {test.__name__}: {error}", flush=True)
                traceback.print_exc(limit=3)
                for browser in ctx.browsers:
                    try:
                        browser.screenshot(f"failed-{test.__name__}-{browser.name}")
                    except Exception:  # noqa: BLE001
                        pass
        for browser in ctx.browsers:
            browser.quit()
    except (HTTPError, TimeoutError, RuntimeError, OSError) as error:
        failed += 1
        print(f"✘ browser suite: {error}", flush=True)
    finally:
        suite.stop()
    print(f"browser: services' logs in {os.path.abspath(suite.log_dir)}")
    print(f"browser: screenshots in {os.path.abspath(arguments.shots)}")
    print(f"browser: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
