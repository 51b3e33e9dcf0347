"""Every page a requester, reviewer, auditor or staff member opens fits a 390 px phone screen."""

from __future__ import annotations

from tests.e2e.conftest import REVIEWERS, log_in

PHONE = {"width": 390, "height": 844}
LONG_PATH = "reports/" + "quarterly-numbers-" * 6 + "draft.md"
HIGH = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": LONG_PATH}}
CRITICAL = {"action_type": "config_change", "parameters": {"key": "quorum_critical", "value": 2}}
USERS = {"alice": [], "bob": REVIEWERS, "dave": ["auditors"], "erin": [*REVIEWERS, "rule_admins"]}

# Whatever visible reaches past the right edge of the screen, unless a box that fits scrolls or
# clips it; named so a failure says where.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const contained = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const clips = getComputedStyle(up).overflowX !== "visible";
      if (clips && up.getBoundingClientRect().right <= width + 1) return true;
    }
    return false;
  };
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (!box.width || box.right <= width + 1 || !el.checkVisibility({visibilityProperty: true})) continue;
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + el.getAttribute("class");
    if (!contained(el)) wide.push(name + " " + Math.round(box.right));
  }
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 8)};
}"""


def on_phone(page):
    page.set_viewport_size(PHONE)
    return page


def assert_fits(page, path: str) -> None:
    origin = "/".join(page.url.split("/", 3)[:3])
    response = page.goto(origin + path)
    assert response.status == 200, (path, response.status)
    page.wait_for_load_state("networkidle")
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= PHONE["width"] and not found["wide"], (path, found)


def test_it_fits_every_page_on_a_390_px_screen(browser, start_site):
    site = start_site(users=USERS)
    site.run("from django.contrib.auth.models import User\nUser.objects.filter(username='erin').update(is_staff=True)")
    ids = []
    for spec in (HIGH, CRITICAL, HIGH):
        status, action = site.api("alice", "POST", "/actions", spec)
        assert status == 201
        ids.append(action["id"])

    pages = {
        "alice": ["/approvals/mine/", f"/approvals/{ids[0]}/", "/chat/", "/preferences/"],
        "bob": ["/approvals/", f"/approvals/{ids[0]}/", "/approvals/rules/", "/chat/"],
        "dave": ["/audit/", f"/audit/actions/{ids[0]}/", "/approvals/rules/", "/chat/"],
        "erin": ["/status/", "/audit/", f"/approvals/rules/new/{ids[0]}/", "/approvals/mine/"],
    }
    for user, paths in pages.items():
        page = on_phone(log_in(browser, site, user, paths[0]))
        for path in paths:
            assert_fits(page, path)
        assert page.console_errors == []
        page.context.close()

    anonymous = browser.new_context(viewport=PHONE).new_page()
    anonymous.goto(f"{site.url}/accounts/login/")
    assert_fits(anonymous, "/accounts/login/")


def test_it_folds_the_nav_into_a_menu_on_a_phone_and_shows_it_open_on_a_wide_screen(browser, start_site):
    site = start_site(users=USERS)
    page = log_in(browser, site, "bob", "/approvals/mine/")
    nav = page.get_by_role("navigation", name="Main")
    menu = page.locator("#menu > summary")
    assert nav.get_by_role("link", name="Approvals").is_visible() and not menu.is_visible()

    on_phone(page)
    assert menu.is_visible() and not nav.get_by_role("link", name="Approvals").is_visible()
    assert page.evaluate("document.querySelector('.topbar').getBoundingClientRect().height") < 60
    menu.focus()
    page.keyboard.press("Enter")
    nav.get_by_role("link", name="Approvals").click()
    page.wait_for_url(f"{site.url}/approvals/")
    assert not nav.get_by_role("link", name="Approvals").is_visible()  # closed again on the next page
    menu.click()
    assert nav.get_by_role("link", name="My requests").is_visible()
    assert page.console_errors == []


def test_it_shows_the_first_action_in_the_first_phone_screen_with_the_tools_folded(browser, start_site):
    site = start_site(users=USERS)
    for spec in (HIGH, CRITICAL):
        assert site.api("alice", "POST", "/actions", spec)[0] == 201
    page = on_phone(log_in(browser, site, "bob"))
    page.wait_for_selector("#live-state.ok")
    first = page.locator("#queue-list > li.row").first
    box = first.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"], box
    assert page.locator(".badge").first.bounding_box()["width"] < 120  # badges keep their size
    assert not page.locator("#bulk-reason").is_visible() and not page.locator(".filters select").first.is_visible()

    # The folded tools open in place and work from the keyboard
    page.get_by_text("Filters and alerts").click()
    page.select_option(".filters select[name=level]", "critical")  # the queue refilters on change
    page.wait_for_url("**/approvals/?level=critical*")
    assert page.locator("#queue-list > li.row").count() == 1
    assert page.get_by_text("Filters and alerts (filtered)").is_visible()

    # Picking a row with the keyboard opens the bulk bar it needs
    page.wait_for_selector("#live-state.ok")
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert page.locator("#bulk-reason").is_visible()
    assert page.locator("#bulk-count").inner_text() == "1 selected"
    assert page.console_errors == []
