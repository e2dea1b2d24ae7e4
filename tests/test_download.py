"""The download path, against a real HTTP server on 127.0.0.1 serving ../shared/data."""
import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from bench import data
from bench.errors import BenchError
from tests.conftest import SHARED_DATA


@pytest.fixture
def server():
    handler = functools.partial(_QuietHandler, directory=str(SHARED_DATA))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_stores_the_verified_file_in_the_cache(server, tmp_path):
    source = SHARED_DATA / "air_passengers" / "AirPassengers.csv"
    dest = tmp_path / "cache" / "air_passengers" / "AirPassengers.csv"
    data.download(f"{server}/air_passengers/AirPassengers.csv", dest, _sha(source))
    assert dest.read_bytes() == source.read_bytes()
    assert list(dest.parent.iterdir()) == [dest]


def test_a_wrong_hash_names_url_and_both_hashes_and_leaves_no_file(server, tmp_path):
    dest = tmp_path / "air_passengers" / "AirPassengers.csv"
    url = f"{server}/air_passengers/AirPassengers.csv"
    with pytest.raises(BenchError) as info:
        data.download(url, dest, "0" * 64)
    message = str(info.value)
    assert url in message and "0" * 64 in message
    assert _sha(SHARED_DATA / "air_passengers" / "AirPassengers.csv") in message
    assert list(dest.parent.iterdir()) == []


def test_a_missing_file_is_a_clear_error_and_leaves_no_file(server, tmp_path):
    dest = tmp_path / "x" / "nothing.csv"
    with pytest.raises(BenchError, match="download failed"):
        data.download(f"{server}/nothing.csv", dest, "0" * 64)
    assert list(dest.parent.iterdir()) == []


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
    import dataclasses
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
        expected = _sha(SHARED_DATA / "air_passengers" / "AirPassengers.csv")
        with pytest.raises(BenchError) as info:
            data.download(url, dest, expected)
    finally:
        httpd.shutdown()
        httpd.server_close()
    message = str(info.value)
    n = len(_TruncatingHandler.body)
    assert url in message and "truncated" in message and f"{n} of {n + 1000} bytes" in message
    assert expected in message and hashlib.sha256(_TruncatingHandler.body).hexdigest() in message
    assert list(dest.parent.iterdir()) == []
