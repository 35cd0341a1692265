"""The Space (hub/space/app.py) as a person uses it: the app on localhost, driven by headless Chromium.

A small CTAM is trained for a few steps on the offline encoder (``ctam/e5-small-offline``, every layer frozen,
max_length 32; real GKLMIP and SST-2 rows). Its predictions are not meant to be good: the test checks what the page
shows against the model itself. ``python hub/space/app.py --model DIR`` is started as a subprocess and driven with
selenium through Debian's ``chromium`` and ``chromium-driver`` (no browser download). Skipped, saying why, where
Gradio, selenium, Chromium, its driver or the shared data are missing.

Set ``CTAM_SCREENSHOT_DIR`` to keep the screenshot (docs/images/space.png is one, looked at before it was committed).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from modeling_ctam.utils.paths import data_dir

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "hub" / "space" / "app.py"

pytest.importorskip(
    "gradio", reason='Gradio is not installed (bash scripts/test.sh installs it: pip install -e ".[demo]")'
)
pytest.importorskip("selenium", reason='selenium is not installed (pip install -e ".[dev]")')
CHROMIUM = os.environ.get("CHROME_BIN") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM or not CHROMEDRIVER,
        reason="Chromium or its driver is not installed (bash scripts/test.sh installs them as root: apt-get "
        "install -y chromium chromium-driver fonts-myanmar)",
    ),
    pytest.mark.skipif(
        not (data_dir() / "my" / "gklmip").is_dir(), reason="shared data folder not found (set CTAM_DATA_DIR)"
    ),
]

# Real GKLMIP dev reviews (Jiang et al. 2021): a Unicode one, and one stored in Zawgyi in the dataset itself.
REVIEW = "သုံးရတာ အရမ်းအဆင်ပြေပါတယ် ပစ္စည်းကောင်းပါတယ်"
REVIEW_NEGATIVE = "အသံအရည်အသွေးအရမ်းညံ့တယ်"
REAL_ZAWGYI = "ေပးရတဲ့ေစ်းနဲ႔တန္တဲ့ပစၥည္းေလးပါ။ သံုးရတာအဆင္ေျပပါတယ္ ။"
TIMEOUT = 90


# ---------------------------------------------------------------------------------------------------------------------
# Fixtures: a trained model, the app, the browser
# ---------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory, offline_encoder_dir) -> Path:
    """train.py's output for 6 steps of the ctam preset on the offline encoder (about 40 s on 2 cores).

    ``CTAM_SPACE_TEST_MODEL=DIR`` uses a model folder trained elsewhere instead (the README's screenshot shows
    the main job's model, whose labels mean something)."""

    import modeling_ctam.training as T

    if os.environ.get("CTAM_SPACE_TEST_MODEL"):
        return Path(os.environ["CTAM_SPACE_TEST_MODEL"])
    tmp = tmp_path_factory.mktemp("space-model")
    paths = {}
    for split, step in (("train", 10), ("dev", 6)):
        name = f"product_sentiment_dataset_{split}.json"
        rows = json.loads((data_dir() / "my" / "gklmip" / name).read_text(encoding="utf-8"))[::step]
        (tmp / name).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        paths[split] = str(tmp / name)
    out = tmp / "ctam-demo"
    cfg = T.load_config(
        None,
        encoder="ctam/e5-small-offline",
        preset="ctam",
        setting="supervised",
        source_data=[str(data_dir() / "en" / "sst2" / "dev.tsv")],
        max_source_examples=32,
        target_train=paths["train"],
        target_dev=paths["dev"],
        max_length=32,
        max_steps=6,
        per_device_train_batch_size=8,
        learning_rate=1e-3,
        freeze_layers=12,
        logging_steps=1,
        eval_strategy="no",
        save_strategy="no",
        load_best_model_at_end=False,
        use_cpu=True,
        disable_tqdm=True,
        seed=1,
        output_dir=str(out),
    )
    T.train(cfg)
    return out


@pytest.fixture(scope="module")
def reference(trained_dir):
    """The model's own answer, outside the app: softmax of its logits on the preprocessed, tokenised text."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from modeling_ctam.data import burmese, tokenize_for_eval

    model = AutoModelForSequenceClassification.from_pretrained(trained_dir, trust_remote_code=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(trained_dir)
    max_length = json.loads((trained_dir / "train_config.json").read_text())["config"]["max_length"]

    def probabilities(text: str) -> dict[str, float]:
        encoded = tokenize_for_eval(
            tokenizer, [burmese.preprocess(text)], "my", max_length=max_length, preprocess=False
        )
        with torch.inference_mode():
            probs = torch.softmax(model(**encoded).logits[0].float(), -1).tolist()
        return {model.config.id2label[i]: p for i, p in enumerate(probs)}

    return probabilities


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(trained_dir, tmp_path_factory):
    port = _free_port()
    log = (tmp_path_factory.mktemp("space-app") / "app.log").open("w")
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    process = subprocess.Popen(
        [sys.executable, str(APP), "--model", str(trained_dir), "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline, last_error = time.time() + 180, None
    try:
        while True:
            assert process.poll() is None, f"the app exited: {Path(log.name).read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError as err:  # not listening yet: try again until the deadline
                last_error = err
            assert time.time() < deadline, (
                f"the app did not answer in 180 s ({last_error}): {Path(log.name).read_text()[-3000:]}"
            )
            time.sleep(1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
    server_log = Path(log.name).read_text()
    assert "Traceback" not in server_log, server_log[-3000:]


@pytest.fixture(scope="module")
def browser(app_url):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1200,900",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(TIMEOUT)
    driver.get(app_url)
    yield driver
    driver.quit()


# ---------------------------------------------------------------------------------------------------------------------
# Page helpers
# ---------------------------------------------------------------------------------------------------------------------
def _wait(driver, predicate, what: str):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(
        driver, TIMEOUT, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException]
    ).until(lambda d: predicate(d), message=what)


def _content(driver, key: str) -> str:
    """The app's own markup in output `key` (message, result, detection, gate); "" when it shows nothing."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    for _ in range(5):  # the page may re-render the element between finding and reading it
        try:
            found = driver.find_elements(By.CSS_SELECTOR, f"#ctam-{key} .ctam-{key}")
            return found[0].get_attribute("outerHTML") if found else ""
        except StaleElementReferenceException:
            time.sleep(0.1)
    raise AssertionError(f"output {key!r} kept changing under the test")


def _show_tab(driver, name: str) -> None:
    from selenium.webdriver.common.by import By

    tabs = _wait(
        driver,
        lambda d: [b for b in d.find_elements(By.CSS_SELECTOR, "button[role='tab']") if b.text.strip() == name],
        f"the tab {name!r}",
    )
    tabs[0].click()


def _classify(driver, text: str, *, wait_for: str = "result", by_script: bool = False, example: bool = False) -> None:
    """Type `text` (set it by script for very long texts, or click it among the examples), press Classify, wait
    until the page changed."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _show_tab(driver, "One review")
    before = {key: _content(driver, key) for key in ("message", "result", "detection", "gate")}
    box = _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#ctam-text textarea"), "the text box")
    box.send_keys(Keys.CONTROL, "a")  # as a person empties the box (clear() sends no input event to the page)
    box.send_keys(Keys.DELETE)
    if example:
        button = driver.execute_script(
            "return [...document.querySelectorAll('button.gallery-item')]"
            ".find(e => e.textContent.trim() === arguments[0])",
            text,
        )
        assert button is not None, f"{text!r} is not among the examples"
        button.click()
        _wait(driver, lambda d: box.get_attribute("value") == text, "the example in the text box")
    elif by_script:
        driver.execute_script(
            "arguments[0].value = arguments[1];arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
            box,
            text,
        )
    elif text:
        box.send_keys(text)
    driver.find_element(By.CSS_SELECTOR, "#ctam-submit").click()
    _wait(
        driver,
        lambda d: any(_content(d, k) != v for k, v in before.items()) and _content(d, wait_for),
        f"the page's answer to {text[:30]!r}",
    )
    time.sleep(0.3)  # let the other outputs of the same event land


def _shown_result(driver) -> tuple[str, dict[str, float], str]:
    """(label, probabilities as shown, visible text of the result panel)."""
    from selenium.webdriver.common.by import By

    panel = driver.find_element(By.CSS_SELECTOR, "#ctam-result .ctam-result")
    rows = driver.find_elements(By.CSS_SELECTOR, "#ctam-result .ctam-prob")
    shown = {
        r.find_element(By.CSS_SELECTOR, ".ctam-prob-name").text: float(
            r.find_element(By.CSS_SELECTOR, ".ctam-prob-value").text
        )
        for r in rows
    }
    return panel.get_attribute("data-label"), shown, panel.text


def _gate_words(driver) -> list[tuple[str, float, str]]:
    from selenium.webdriver.common.by import By

    return [
        (span.text, float(span.get_attribute("data-static")), span.value_of_css_property("background-color"))
        for span in driver.find_elements(By.CSS_SELECTOR, "#ctam-gate .ctam-word")
    ]


def _screenshot(driver, path: Path) -> None:
    """The whole page as a PNG (the viewport stretched to the page's height), kept in CTAM_SCREENSHOT_DIR if set."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1200, "height": int(height) + 10, "deviceScaleFactor": 1, "mobile": False},
    )
    time.sleep(0.5)
    try:
        assert driver.save_screenshot(str(path)) and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    if os.environ.get("CTAM_SCREENSHOT_DIR"):
        shutil.copy(path, Path(os.environ["CTAM_SCREENSHOT_DIR"]) / path.name)


# ---------------------------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------------------------
def test_unicode_review_and_its_zawgyi_twin_show_the_same_label_probabilities_and_gate(browser, reference, tmp_path):
    from selenium.webdriver.common.by import By

    from modeling_ctam.data import burmese
    from modeling_ctam.hub.card import to_zawgyi

    twin = to_zawgyi(REVIEW)  # python-myanmar's converter: independent of the app's burmesenlp conversion
    assert twin and twin != REVIEW and burmese.is_zawgyi(twin)

    _classify(browser, REVIEW)
    label, shown, text = _shown_result(browser)
    expected = reference(REVIEW)
    assert set(shown) == set(expected) == {"negative", "positive"}
    assert shown == {name: round(p, 4) for name, p in expected.items()}  # the page shows the model's own numbers
    assert label == max(expected, key=expected.get) and text.splitlines()[0].lower() == label
    assert (
        browser.find_element(By.CSS_SELECTOR, "#ctam-detection .ctam-detection").get_attribute("data-encoding")
        == "Unicode"
    )
    gate = _gate_words(browser)

    _screenshot(browser, tmp_path / "space.png")

    _classify(browser, twin, wait_for="detection")
    detection = browser.find_element(By.CSS_SELECTOR, "#ctam-detection .ctam-detection")
    assert detection.get_attribute("data-encoding") == "Zawgyi" and "converted to Unicode" in detection.text
    assert burmese.preprocess(REVIEW) in detection.text  # the converted text is shown
    assert _shown_result(browser) == (label, shown, text)
    assert _gate_words(browser) == gate


def test_gate_view_colours_one_span_per_word(browser):
    from modeling_ctam.data import burmese

    for review, example in ((REVIEW_NEGATIVE, False), (REAL_ZAWGYI, True)):  # typed, then clicked as an example
        _classify(browser, review, example=example)
        words = _gate_words(browser)
        expected = burmese.segment_words(burmese.preprocess(review))
        assert [w for w, _, _ in words] == expected
        assert all(0.0 <= share <= 1.0 for _, share, _ in words)
        colours = {colour for _, _, colour in words}
        assert all(c.startswith("rgba(") for c in colours) and len(colours) > 1  # coloured, and by value
        # the most static word is coloured towards orange (h_vec), the least towards blue (h_xlm)
        most = max(words, key=lambda w: w[1])[2]
        least = min(words, key=lambda w: w[1])[2]
        red = lambda c: int(c[5:].split(",")[0])  # noqa: E731
        assert red(most) > red(least)


def test_csv_upload_returns_a_predictions_file_read_as_eval_py_reads_it(browser, reference, tmp_path):
    from selenium.webdriver.common.by import By

    from modeling_ctam.data import burmese

    upload = tmp_path / "reviews.csv"
    with upload.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerow([REVIEW, "positive"])  # labels as eval.py reads them: class names or ids
        writer.writerow([REVIEW_NEGATIVE, " Negative"])
        writer.writerow([REAL_ZAWGYI, "1"])
        writer.writerow(["a row with one column too many", "1", "extra"])  # a bad row: skipped and counted
        writer.writerow(["အဆင်ပြေတယ်", "NEUTRAL"])  # no neutral class in a binary model: left out and counted
    _show_tab(browser, "Batch (CSV)")
    browser.find_element(By.CSS_SELECTOR, "#ctam-csv input[type=file]").send_keys(str(upload))
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#ctam-csv [aria-label='reviews.csv']"), "the upload")
    browser.find_element(By.CSS_SELECTOR, "#ctam-batch-submit").click()
    link = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#ctam-predictions a[href]"), "the file")[0]
    message = browser.find_element(By.CSS_SELECTOR, "#ctam-batch-message").text
    assert "Classified 3 rows of reviews.csv" in message
    assert "Skipped 1 bad row" in message and "reviews.csv:5" in message and "neutral_in_binary 1" in message
    with urllib.request.urlopen(link.get_attribute("href"), timeout=30) as response:
        rows = list(csv.DictReader(io.StringIO(response.read().decode("utf-8"))))
    assert [r["source_line"] for r in rows] == ["reviews.csv:2", "reviews.csv:3", "reviews.csv:4"]
    assert list(rows[0]) == ["source_line", "text", "label", "prediction", "p_negative", "p_positive"]
    assert [r["label"] for r in rows] == ["positive", "negative", "positive"]
    assert rows[2]["text"] == burmese.preprocess(REAL_ZAWGYI)  # the Zawgyi row was converted
    for row, review in zip(rows, (REVIEW, REVIEW_NEGATIVE, REAL_ZAWGYI)):
        expected = reference(review)
        assert float(row["p_negative"]) == pytest.approx(expected["negative"], abs=1e-4)
        assert float(row["p_positive"]) == pytest.approx(expected["positive"], abs=1e-4)
        assert row["prediction"] == max(expected, key=expected.get)

    table = browser.find_element(By.CSS_SELECTOR, "#ctam-preview").text  # the first rows shown in the page too
    assert "reviews.csv:4" in table and "p_positive" in table and rows[2]["p_positive"] in table

    # Without "Skip bad rows", the bad row stops the file with its place, as eval.py does.
    browser.find_element(By.CSS_SELECTOR, "#ctam-skip input").click()
    browser.find_element(By.CSS_SELECTOR, "#ctam-batch-submit").click()
    _wait(
        browser,
        lambda d: (
            "reviews.csv:5" in d.find_element(By.CSS_SELECTOR, "#ctam-batch-message").text
            and "Classified" not in d.find_element(By.CSS_SELECTOR, "#ctam-batch-message").text
        ),
        "the refusal",
    )
    browser.find_element(By.CSS_SELECTOR, "#ctam-skip input").click()


@pytest.mark.parametrize(
    "text, by_script, expected",
    [
        ("", False, "The text box is empty"),
        ("This phone is great, five stars!", False, "No Burmese characters"),
        ("က" * 10_001, True, "The text is too long: 10,001 characters"),
    ],
    ids=["empty", "english", "over-long"],
)
def test_bad_input_gives_a_clear_message_and_no_traceback(browser, text, by_script, expected):
    from selenium.webdriver.common.by import By

    _classify(browser, REVIEW)  # a result on the page first: a refusal must clear it
    _classify(browser, text, wait_for="message", by_script=by_script)
    message = browser.find_element(By.CSS_SELECTOR, "#ctam-message").text
    assert expected in message
    assert not browser.find_elements(By.CSS_SELECTOR, "#ctam-result .ctam-prob")
    assert not browser.find_elements(By.CSS_SELECTOR, "#ctam-gate .ctam-word")
    assert "Traceback" not in browser.page_source and "Error" not in message
