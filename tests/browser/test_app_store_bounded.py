"""The tab keeps no ever-growing structure across scans: the repeated-use tags it holds in memory
(store.js) are pruned by the venue's window at each use, as the server's scan log drops its hashes
once the window is over (verifier/scanlog.py). Counted in the real app's page, in headless Chromium,
through the store the app uses; bench/app_shell.py measures the heap itself."""
from __future__ import annotations

import time

import pytest

from tests.browser.app_engine_harness import published_app_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PUTS = """async ({n, window, gap}) => {
  const { openStore } = await import("./store.js");
  const store = await openStore();
  const start = 1_800_000_000;
  const sizes = [];
  for (let i = 0; i < n; i++) {
    await store.seen.put("tag" + (i % 3000), start + i * gap, window);
    if (i % 500 === 499) sizes.push(store.seen.size);
  }
  const last = start + (n - 1) * gap;
  return {sizes, newest: await store.seen.get("tag" + ((n - 1) % 3000)),
          within: await store.seen.get("tag" + ((n - 1 - Math.floor(window / gap)) % 3000)),
          gone: await store.seen.get("tag" + ((n - 2 - Math.floor(window / gap)) % 3000)), last};
}"""


@pytest.fixture(scope="module")
def page(tmp_path_factory, playwright_instance):
    with published_app_page(playwright_instance, tmp_path_factory.mktemp("app-store"), int(time.time())) as page:
        yield page


def test_repeated_use_tags_are_pruned_by_the_venue_window(page):
    # 5,000 uses of 3,000 credentials, one every 2 s, a 600 s window: 301 uses count at any time
    got = page.evaluate(PUTS, {"n": 5000, "window": 600, "gap": 2})
    assert got["sizes"][0] == 301
    assert max(got["sizes"]) == 301, got["sizes"]
    assert got["newest"] == got["last"]
    assert got["within"] == got["last"] - 600  # the oldest use that still counts is kept
    assert got["gone"] is None


def test_a_use_again_moves_its_tag_so_it_is_not_pruned_early(page):
    got = page.evaluate("""async () => {
      const { openStore } = await import("./store.js");
      const store = await openStore();
      const t = 1_900_000_000;
      await store.seen.put("a", t, 600);
      await store.seen.put("b", t + 10, 600);
      await store.seen.put("a", t + 500, 600);  // used again: now newer than b
      await store.seen.put("c", t + 620, 600);  // b (t + 10) has left the window, a has not
      return [await store.seen.get("a"), await store.seen.get("b"), store.seen.size];
    }""")
    assert got == [1_900_000_500, None, 2]
