"""The browser and tab fixtures of test_page.py, for every module of the browser tests."""

from tests.browser.test_page import browser, tab  # noqa: F401
