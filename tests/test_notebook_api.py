"""The notebook API: ``import bench`` gives its names, ``help(bench.run)`` its parameters, a run its progress."""
import io
import subprocess
import sys

import pytest

import bench
from bench import data
from tests.conftest import catalog_file

AIR = catalog_file("air_passengers", "AirPassengers.csv")


def test_import_bench_gives_the_documented_names_in_a_fresh_process_and_loads_no_model_library(tmp_path):
    code = ("import sys, bench\n"
            "assert 'pandas' not in sys.modules, 'import bench alone stays light'\n"
            "assert callable(bench.data.user_dataset) and callable(bench.data.load_panel)\n"
            "assert callable(bench.run) and callable(bench.load) and bench.Results.__name__ == 'Results'\n"
            "assert 'torch' not in sys.modules and 'tensorflow' not in sys.modules\n"
            "print(sorted(bench.__all__))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert {"run", "load", "Results", "data"} <= set(eval(done.stdout))


def test_help_of_bench_run_documents_every_parameter():
    import inspect
    import pydoc

    parameters = list(inspect.signature(bench.run).parameters)
    assert parameters[:4] == ["suite", "datasets", "models", "seeds"] and "progress" in parameters
    text = pydoc.render_doc(bench.run, renderer=pydoc.plaintext)
    for name in parameters:
        assert f"\n    {name} :" in text, f"help(bench.run) does not document {name}"


def _panel_csv(path):
    """Three stores selling air passengers, in long format."""
    header, *rows = AIR.read_text().splitlines()
    path.write_text("\n".join(["store," + header] + [f"{s},{row}" for s in "ABC" for row in rows]) + "\n")
    return path


def test_a_notebook_run_prints_a_header_one_line_per_model_and_the_folder(tmp_path, capsys):
    shops = data.user_dataset(_panel_csv(tmp_path / "shops.csv"), id_col="store")
    res = bench.run("default", datasets=["shops"], models=["drift"], extra_datasets=[shops], out=tmp_path / "out")
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[0] == f"run 1: suite 'default' on shops: 9 cells to run; store {tmp_path / 'out' / 'bench.sqlite'}"
    assert lines[1].strip() == ("seasonal_naive and naive joined as references, which the tables are relative to "
                                "(references=False leaves them out)")
    # One line per model on the panel, not one per series: 3 lines for 9 cells.
    walks = lines[2:-1]
    assert sorted(line.split()[1] for line in walks) == ["drift", "naive", "seasonal_naive"]
    assert all(" shops " in line and " ok " in line and "3/3 series ok, mean MAE" in line for line in walks), walks
    assert lines[-1].startswith("done in ") and lines[-1].endswith(f"{tmp_path / 'out' / 'LEADERBOARD.md'}")
    assert "\r" not in err                          # not a terminal nor Jupyter: no live line
    assert set(res.cells["label"]) == {"drift", "naive", "seasonal_naive"}
    # progress=False: silent.
    bench.run("default", datasets=["shops"], models=["naive"], extra_datasets=[shops], out=tmp_path / "quiet",
              progress=False, references=False)
    assert capsys.readouterr().err == ""


def test_the_live_line_is_rewritten_in_place_and_cleared_at_the_end(tmp_path):
    from bench.progress import ProgressLines

    stream = io.StringIO()
    bench.run("default", datasets=["air_passengers"], models=["naive", "seasonal_naive"], out=tmp_path / "out",
              on_cell=ProgressLines(stream=stream, live=True))
    text = stream.getvalue()
    assert "\r[##########          ] 1/2 cells · about" in text
    # Each permanent line overwrites the live one, and the screen ends with no live line left.
    shown = [line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")]
    assert shown[0].startswith("run 1: suite 'default' on air_passengers: 2 cells to run")
    assert [line.split()[:3] for line in shown[1:3]] == [["air_passengers", "naive", "ok"],
                                                         ["air_passengers", "seasonal_naive", "ok"]]
    assert shown[3].startswith("done in ") and shown[4] == ""


@pytest.mark.slow
def test_with_workers_the_lines_are_the_same_as_in_process(tmp_path, capsys):
    runs = {}
    for workers in (0, 2):
        bench.run("default", datasets=["air_passengers"], models=["naive", "drift"], out=tmp_path / f"w{workers}",
                  workers=workers)
        lines = capsys.readouterr().err.strip().splitlines()
        runs[workers] = sorted(" ".join(line.split()[:4]) for line in lines[2:-1])
    assert runs[0] == runs[2] and len(runs[0]) == 3
