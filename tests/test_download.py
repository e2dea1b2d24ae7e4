"""The download path, against a real HTTP server on 127.0.0.1 serving the test data folder."""
import contextlib
import dataclasses
import functools
import hashlib
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from bench import data
from bench.errors import BenchError
from tests.conftest import REPO, catalog_file

AIR = catalog_file("air_passengers", "AirPassengers.csv")


@contextlib.contextmanager
def serving(folder: Path):
    """A web server on 127.0.0.1 for ``folder``; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def _no_callers_mirror(monkeypatch):
    # A mirror set for the session (CI's fresh clone) would stand in for the servers these tests choose.
    monkeypatch.delenv("BENCH_MIRROR", raising=False)


@pytest.fixture
def server():
    # conftest guarantees BENCH_DATA_DIR: a folder laid out as <dataset>/<file>, i.e. a mirror.
    with serving(Path(os.environ["BENCH_DATA_DIR"])) as url:
        yield url


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_stores_the_verified_file_in_the_cache(server, tmp_path):
    dest = tmp_path / "cache" / "air_passengers" / "AirPassengers.csv"
    data.download(f"{server}/air_passengers/AirPassengers.csv", dest, _sha(AIR))
    assert dest.read_bytes() == AIR.read_bytes()
    assert list(dest.parent.iterdir()) == [dest]


def test_a_wrong_hash_names_url_and_both_hashes_and_leaves_no_file(server, tmp_path):
    dest = tmp_path / "air_passengers" / "AirPassengers.csv"
    url = f"{server}/air_passengers/AirPassengers.csv"
    with pytest.raises(BenchError) as info:
        data.download(url, dest, "0" * 64)
    message = str(info.value)
    assert url in message and "0" * 64 in message
    assert _sha(AIR) in message
    assert list(tmp_path.iterdir()) == []          # neither the file nor the folder made for it


def test_a_missing_file_is_a_clear_error_and_leaves_no_file(server, tmp_path):
    dest = tmp_path / "x" / "nothing.csv"
    with pytest.raises(BenchError, match="download failed"):
        data.download(f"{server}/nothing.csv", dest, "0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_load_without_data_dir_downloads_once_then_reads_the_cache(server, tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_DATA_DIR")
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path))
    ds = data.get_dataset("air_passengers")
    f = ds.files[0]
    ds = _with_url(ds, f"{server}/air_passengers/{f.name}")
    y = data.load(ds)
    assert len(y) == 144
    cached = tmp_path / "air_passengers" / f.name
    assert cached.is_file()
    offline = _with_url(ds, "http://127.0.0.1:9/unreachable.csv")
    assert data.load(offline).equals(y)


def _with_url(ds, url):
    return dataclasses.replace(ds, files=(dataclasses.replace(ds.files[0], url=url),))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _TruncatingHandler(http.server.BaseHTTPRequestHandler):
    """Announces more bytes than it sends, then closes the connection: a cut download."""
    body = b"Month,#Passengers\n1949-01,112\n"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body) + 1000))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_a_truncated_download_names_url_sizes_and_hashes_and_leaves_no_file(tmp_path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TruncatingHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/AirPassengers.csv"
        dest = tmp_path / "air_passengers" / "AirPassengers.csv"
        expected = _sha(AIR)
        with pytest.raises(BenchError) as info:
            data.download(url, dest, expected)
    finally:
        httpd.shutdown()
        httpd.server_close()
    message = str(info.value)
    n = len(_TruncatingHandler.body)
    assert url in message and "truncated" in message and f"{n} of {n + 1000} bytes" in message
    assert expected in message and hashlib.sha256(_TruncatingHandler.body).hexdigest() in message
    assert list(tmp_path.iterdir()) == []


def test_a_download_into_an_existing_folder_keeps_the_folder(server, tmp_path):
    (tmp_path / "kept").mkdir()
    with pytest.raises(BenchError):
        data.download(f"{server}/nothing.csv", tmp_path / "kept" / "nothing.csv", "0" * 64)
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and not any((tmp_path / "kept").iterdir())


# --------------------------------------------------------------------------- BENCH_MIRROR and fetch

def test_the_mirror_replaces_the_catalog_urls_with_dataset_and_file(server, tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_DATA_DIR")
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("BENCH_MIRROR", server + "/")
    ds = data.get_dataset("google_stock")
    found = [data.find_file(ds, f) for f in ds.files]
    assert [how for _, how in found] == [f"downloaded from {server}/google_stock/{f.name}" for f in ds.files]
    for (path, _), f in zip(found, ds.files):
        assert path == tmp_path / "google_stock" / f.name
        assert path.read_bytes() == catalog_file("google_stock", f.name).read_bytes()
    assert [data.find_file(ds, f)[1] for f in ds.files] == ["cached", "cached"]
    assert len(data.load(ds)) == 1258 + 20


@pytest.mark.parametrize("mirror", ["127.0.0.1:8000", "ftp://127.0.0.1/data", "http://"])
def test_a_mirror_that_is_not_a_web_url_is_refused_before_anything_is_fetched(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("BENCH_MIRROR", mirror)
    with pytest.raises(BenchError, match=r"^BENCH_MIRROR: .* is not an http:// or https:// URL"):
        list(data.fetch())
    assert list(tmp_path.iterdir()) == []


def fetch_cli(*names, mirror, cache):
    env = {**os.environ, "BENCH_MIRROR": mirror, "BENCH_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    env.pop("BENCH_DATA_DIR")
    return subprocess.run([sys.executable, "-m", "bench", "fetch", *names], cwd=cache.parent, env=env,
                          capture_output=True, text=True, timeout=120)


def test_fetch_downloads_verifies_and_caches_the_whole_catalog_then_finds_it_cached(server, tmp_path):
    cache = tmp_path / "cache"
    done = fetch_cli(mirror=server, cache=cache)
    assert done.returncode == 0, done.stderr
    expected = [(name, f.name) for name in data.catalog_names()
                for f in (*data.get_dataset(name).files, *data.get_dataset(name).published)]
    assert ("m4_hourly", "published_hourly_benchmarks.csv") in expected
    assert ("m4_hourly", "published_hourly_intervals.csv") in expected
    assert done.stdout.splitlines() == [f"{d}/{f}: downloaded from {server}/{d}/{f}, sha256 ok: {cache / d / f}"
                                        for d, f in expected]
    for d, f in expected:       # what the server serves is BENCH_DATA_DIR
        assert (cache / d / f).read_bytes() == (Path(os.environ["BENCH_DATA_DIR"]) / d / f).read_bytes()
    again = fetch_cli("air_passengers", mirror="http://127.0.0.1:9", cache=cache)    # nothing listens there
    assert again.returncode == 0, again.stderr
    cached = cache / "air_passengers" / "AirPassengers.csv"
    assert again.stdout == f"air_passengers/AirPassengers.csv: cached, sha256 ok: {cached}\n"


def test_fetch_from_a_mirror_serving_a_wrong_file_exits_2_and_caches_nothing(tmp_path):
    served = tmp_path / "mirror" / "air_passengers"
    served.mkdir(parents=True)
    (served / "AirPassengers.csv").write_text(AIR.read_text().replace("1949-01,112", "1949-01,113"))
    cache = tmp_path / "cache"
    with serving(served.parent) as mirror:
        done = fetch_cli("air_passengers", mirror=mirror, cache=cache)
    assert done.returncode == 2 and done.stdout == ""
    url = f"{mirror}/air_passengers/AirPassengers.csv"
    wrong = _sha(served / "AirPassengers.csv")
    assert done.stderr == f"error: {url}: sha256 mismatch (expected {_sha(AIR)}, got {wrong})\n"
    assert not cache.exists()


def test_a_published_table_comes_from_the_data_folder_or_a_mirror_checked_by_its_sha256(server, tmp_path, monkeypatch):
    from bench.report.published import published_values

    ds = data.get_dataset("m4_hourly")
    assert [f.name for f in ds.published] == ["published_hourly_benchmarks.csv", "published_hourly_intervals.csv"]
    assert not any(f.url for f in ds.published)
    values = published_values("m4_hourly")                                     # from BENCH_DATA_DIR
    assert values.loc["Naive2", "smape"] == 18.383 and values.loc["Naive", "msis"] == 71.245
    assert np.isnan(values.loc["Naive2", "msis"]) and np.isnan(values.loc["ARIMA", "smape"])   # one table each
    monkeypatch.delenv("BENCH_DATA_DIR")
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    # No data folder, no cache, no mirror: it has no URL of its own, so the tables go without it.
    assert data.find_published(ds) == [] and published_values("m4_hourly").empty
    with pytest.raises(BenchError, match="published_hourly_benchmarks.csv has no download URL .*put it in "):
        data.find_file(ds, ds.published[0])
    monkeypatch.setenv("BENCH_MIRROR", server)
    assert published_values("m4_hourly").loc["sNaive", "mase"] == 1.193
    assert published_values("m4_hourly").loc["ARIMA", "acd"] == 0.001
    # A file that does not match its sha256 is an error, not a table quietly left out.
    (tmp_path / "cache" / "m4_hourly" / "published_hourly_benchmarks.csv").write_text("method,smape\nNaive2,1\n")
    with pytest.raises(BenchError, match="sha256 mismatch"):
        published_values("m4_hourly")


# --------------------------------------------------------------------------- repairing the cache

def damaged_cache(cache: Path) -> Path:
    """A cache whose AirPassengers.csv fails its sha256 (one value changed on disk)."""
    cached = cache / "air_passengers" / "AirPassengers.csv"
    cached.parent.mkdir(parents=True)
    cached.write_text(AIR.read_text().replace("1949-01,112", "1949-01,113"))
    return cached


def test_fetch_replaces_a_cached_file_that_fails_its_sha256_with_a_verified_download(server, tmp_path):
    cached = damaged_cache(tmp_path / "cache")
    wrong = _sha(cached)
    done = fetch_cli("air_passengers", mirror=server, cache=tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (f"air_passengers/AirPassengers.csv: downloaded from {server}/air_passengers/"
                           f"AirPassengers.csv, replacing a cached file that failed its sha256 (got {wrong}), "
                           f"sha256 ok: {cached}\n")
    assert cached.read_bytes() == AIR.read_bytes() and list(cached.parent.iterdir()) == [cached]


@pytest.mark.parametrize("served", ["nothing", "a wrong file"])
def test_fetch_that_cannot_replace_a_damaged_cached_file_leaves_it_and_says_so(served, tmp_path):
    cached = damaged_cache(tmp_path / "cache")
    before = cached.read_bytes()
    mirror_folder = tmp_path / "mirror"
    (mirror_folder / "air_passengers").mkdir(parents=True)
    if served == "a wrong file":
        (mirror_folder / "air_passengers" / "AirPassengers.csv").write_bytes(before)
    with serving(mirror_folder) as mirror:
        done = fetch_cli("air_passengers", mirror=mirror, cache=tmp_path / "cache")
    assert done.returncode == 2 and done.stdout == "", done.stderr
    line, = done.stderr.splitlines()
    assert line.startswith(f"error: {cached}: sha256 mismatch (expected {_sha(AIR)}, got {_sha(cached)})")
    assert (f"{mirror}/air_passengers/AirPassengers.csv: " in line and "left as it was" in line
            and ("download failed" if served == "nothing" else "sha256 mismatch") in line.split(mirror)[1])
    assert cached.read_bytes() == before and list(cached.parent.iterdir()) == [cached]


def test_a_run_on_a_damaged_cached_file_says_that_fetch_replaces_it(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_DATA_DIR")
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    damaged_cache(tmp_path / "cache")
    with pytest.raises(BenchError, match=r"AirPassengers.csv: sha256 mismatch .*`python -m bench fetch "
                                         r"air_passengers` downloads it again and replaces it"):
        data.load_series("air_passengers")


class _StallingHandler(http.server.BaseHTTPRequestHandler):
    """Sends the first half of AirPassengers.csv, says so (``asked``), then waits for ``go`` before the rest."""
    asked = threading.Event()
    go = threading.Event()

    def do_GET(self):
        body = AIR.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:len(body) // 2])
        self.wfile.flush()
        self.asked.set()
        if self.go.wait(timeout=60):
            self.wfile.write(body[len(body) // 2:])

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def stalling_server():
    _StallingHandler.asked, _StallingHandler.go = threading.Event(), threading.Event()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StallingHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        _StallingHandler.go.set()
        httpd.shutdown()
        httpd.server_close()


def wait_for_part(folder: Path) -> Path:
    """The temporary file of the download the stalling server is serving (made before it asked)."""
    assert _StallingHandler.asked.wait(timeout=60), "the download never asked the server"
    part, = folder.glob(".*.part")
    return part


def test_the_part_file_of_a_killed_download_is_removed_by_the_next_fetch(server, tmp_path):
    cache = tmp_path / "cache"
    with stalling_server() as stalling:
        env = {**os.environ, "BENCH_MIRROR": stalling, "BENCH_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
        env.pop("BENCH_DATA_DIR")
        killed = subprocess.Popen([sys.executable, "-m", "bench", "fetch", "air_passengers"], cwd=tmp_path, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            part = wait_for_part(cache / "air_passengers")
        finally:
            killed.kill()
            killed.wait()
    assert part.exists()          # what a killed download leaves behind
    done = fetch_cli("air_passengers", mirror=server, cache=cache)
    assert done.returncode == 0, done.stderr
    cached = cache / "air_passengers" / "AirPassengers.csv"
    assert list(cached.parent.iterdir()) == [cached] and cached.read_bytes() == AIR.read_bytes()
    part.write_bytes(b"Month,#Pass")          # left by a download killed after another one finished
    again = fetch_cli("air_passengers", mirror="http://127.0.0.1:9", cache=cache)
    assert again.returncode == 0, again.stderr
    assert list(cached.parent.iterdir()) == [cached]


def test_a_download_in_progress_keeps_its_part_file_while_another_fetch_cleans(tmp_path):
    dest = tmp_path / "air_passengers" / "AirPassengers.csv"
    with stalling_server() as stalling:
        errors = []
        downloading = threading.Thread(target=lambda: _catching(errors, data.download, f"{stalling}/air.csv", dest,
                                                                _sha(AIR)))
        downloading.start()
        part = wait_for_part(dest.parent)
        data.remove_stale_parts(dest)          # what a second process fetching the same file does first
        assert part.exists()
        _StallingHandler.go.set()
        downloading.join(timeout=60)
    assert errors == [] and dest.read_bytes() == AIR.read_bytes()
    assert list(dest.parent.iterdir()) == [dest]


def _catching(errors: list, function, *args):
    try:
        function(*args)
    except Exception as exc:
        errors.append(exc)
