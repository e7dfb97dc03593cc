"""The report opens in a real browser: headless Chromium renders index.html with its figures (issue 17 part 7).

Skipped where no Chromium is installed (Debian: ``apt-get install -y chromium``).
"""

import os
import shutil
import subprocess

import matplotlib

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (apt-get install -y chromium)")


def screenshot(html, png, home, width=1000, height=1400):
    """Render ``html`` in headless Chromium and write a ``width`` x ``height`` screenshot to ``png``."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           f"--user-data-dir={home / 'profile'}", f"--window-size={width},{height}", f"--screenshot={png}",
           html.resolve().as_uri()]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(home)})
    assert png.exists(), f"chromium wrote no screenshot (rc {done.returncode}): {done.stderr[-2000:]}"
    return matplotlib.image.imread(png)


def _coloured_fraction(rgb):
    """Share of pixels that are clearly coloured (not grey: text and page are black, grey and white)."""
    rgb = np.asarray(rgb, dtype=float)[..., :3]
    return float(np.mean(rgb.max(axis=-1) - rgb.min(axis=-1) > 0.25))


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    from neurotk.datasets import digits_network, simulate_visual_hierarchy
    from neurotk.report import compare_recordings

    sim = simulate_visual_hierarchy(n_stimuli=30, random_state=0)
    layers = digits_network(0).activations(sim.images, stimulus_ids=sim.stimulus_ids)
    report = compare_recordings({a: sim.area(a) for a in sim.areas}, layers, n_bootstrap=20, progress=False,
                                title="Simulated cortex vs the digits network")
    return report.save(tmp_path_factory.mktemp("report"))


def test_index_html_renders_with_its_figures(report_dir, tmp_path):
    image = screenshot(report_dir / "index.html", tmp_path / "shot.png", tmp_path)
    assert image.shape[:2] == (1400, 1000)
    # the heatmap and bar plots are in colour; the page around them is black on white
    assert _coloured_fraction(image) > 0.05
    assert np.mean(image[..., :3].mean(axis=-1) > 0.95) > 0.3  # mostly white page, not a blank error page


def test_the_check_sees_a_page_whose_figures_do_not_load(report_dir, tmp_path):
    """The same page with its figure files missing renders no colour: the check above can fail."""
    page = tmp_path / "index.html"
    page.write_text((report_dir / "index.html").read_text().replace('src="', 'src="missing/'))
    image = screenshot(page, tmp_path / "shot.png", tmp_path)
    assert _coloured_fraction(image) < 0.01
