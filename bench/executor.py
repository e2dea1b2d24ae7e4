"""Run cells in other processes: local isolated workers or a Dask cluster.

Both look the same to the caller: ``execute(cells, panels, ...)`` yields one
CellResult per cell as cells finish, and the caller (the one process that owns the
store) writes each before asking for the next.

A task is a **chunk**: the cells of one variant walk (dataset, model, label, parameters,
seed, span) on up to ``CHUNK_SERIES`` consecutive series of a panel; a single-series
dataset's cell is a chunk of one. A global model's walk (``forecaster.GlobalForecaster``) is one
chunk whatever its size: its worker receives the whole panel, fits once on every series and
streams back one result per series. A local worker sends each cell's result back as soon as
it is done, so the caller stores every cell on its own and a resume loses at most the
cells in flight.

Local workers are long-lived processes, so TensorFlow and torch are imported once per
worker, not once per cell. Each worker handles one chunk at a time; when a cell runs
past its timeout (the clock restarts for each cell of a chunk), or its worker dies
(killed, out of memory, ``os._exit``), the worker is replaced, that cell is recorded as
``timeout`` or ``crashed``, and the chunk's cells after it go to a new task.
concurrent.futures' ProcessPoolExecutor cannot do either: it cannot stop one running
task, and one dead worker breaks the whole pool.
"""
from __future__ import annotations

import ctypes
import inspect
import itertools
import math
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from concurrent.futures import Executor, Future, as_completed
from multiprocessing.connection import wait
from typing import Callable, Iterable, Iterator, Mapping

import pandas as pd

from bench import forecaster
from bench.runner import Cell, CellResult, evaluate_cell, evaluate_global, global_walk_key

THREAD_VARS = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"]


class CellTimeout(Exception):
    pass


class WorkerCrashed(Exception):
    pass


def limit_threads() -> None:
    """One compute thread per worker, so N workers do not oversubscribe N cores."""
    for var in THREAD_VARS:
        os.environ[var] = "1"
    # torch reads OMP_NUM_THREADS when it is imported; only a torch already loaded
    # (a Dask worker that ran a torch cell before) needs telling.
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


# glibc mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def undo_eager_trimming() -> None:
    """Give malloc back the heap reuse that MALLOC_TRIM_THRESHOLD_ takes away.

    Dask's nanny starts its workers with MALLOC_TRIM_THRESHOLD_=65536 so that freed
    memory returns to the system early. Setting it also freezes glibc's mmap threshold
    at 128 KiB, so every larger buffer is a fresh mmap, page faults included: a torch
    LSTM cell trained 2.2x slower (sunspots, 26.8 s instead of 11.4 s, the same MAE).
    Fit times measured so would describe the worker's malloc settings, not the model.
    The values set here are the largest that glibc's own adaptive thresholds grow to.
    """
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:         # not glibc (musl): the variable means nothing there
        return
    libc.mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024)
    libc.mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024)


PR_SET_PDEATHSIG = 1            # prctl option (linux/prctl.h)
PARENT_POLL_S = 0.5


def die_with_parent(parent_pid: int) -> None:
    """End this worker within moments of the process that started it, however that one ends.

    Its cell's result would have nowhere to go, and a worker left computing (a 73 s ARIMA
    cell) holds a core that the next run needs. On Linux the kernel sends SIGKILL when the
    parent dies (PR_SET_PDEATHSIG), even while the worker is busy in C code; elsewhere a
    thread notices that the parent changed (no thread on Linux: it would share the GIL
    with the cell being timed).
    """
    asked = False
    if sys.platform.startswith("linux"):
        try:
            asked = ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:      # it died before the request above was made
        os._exit(0)
    if asked:
        return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _worker_main(conn, parent_pid: int) -> None:
    # Ctrl-C reaches every process of the terminal's group; the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)
    limit_threads()
    undo_eager_trimming()
    if not _send(conn, ("ready", None)):
        return
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the parent is gone: nothing left to report to
            return
        if task is None:
            return
        fn, args = task
        try:
            out = fn(*args)
            if inspect.isgenerator(out):      # a chunk: each item goes back as soon as it is made
                for item in out:
                    if not _send(conn, ("item", item)):
                        return
                out = None
            reply = ("ok", out)
        except BaseException as exc:  # report, never die silently
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            sent = _send(conn, reply)
        except Exception as exc:      # a result that cannot be pickled
            sent = _send(conn, ("error", f"{type(exc).__name__}: {exc}"))
        if not sent:
            return


def _send(conn, message) -> bool:
    """Send to the parent; False (quietly, no traceback) when it is gone."""
    try:
        conn.send(message)
        return True
    except (ConnectionError, EOFError, OSError):
        return False


class _Slot:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, os.getpid()), daemon=True)
        # The thread limits must be in the environment the worker starts with: unpickling
        # its target imports numpy, and OpenBLAS reads them once, at that import.
        saved = {var: os.environ.get(var) for var in THREAD_VARS}
        os.environ.update({var: "1" for var in THREAD_VARS})
        try:
            self.process.start()
        finally:
            for var, value in saved.items():
                if value is None:
                    os.environ.pop(var, None)
                else:
                    os.environ[var] = value
        child.close()
        self.future: Future | None = None
        self.on_item: Callable | None = None
        self.deadline = float("inf")
        self.ready = False      # the clock of a cell starts once its worker has started up

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class IsolatedPool(Executor):
    """A concurrent.futures Executor whose tasks can time out and whose workers can die."""

    def __init__(self, workers: int, task_timeout_s: float | None = None):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._ctx = mp.get_context("spawn")
        self._timeout_s = task_timeout_s
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._slots = [_Slot(self._ctx) for _ in range(workers)]
        self._closing = False
        self._killing = False
        self._manager = threading.Thread(target=self._manage, daemon=True)
        self._manager.start()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if kwargs:
            raise TypeError("IsolatedPool.submit takes positional arguments only")
        return self.submit_stream(fn, args, None)

    def submit_stream(self, fn, args: tuple, on_item: Callable | None) -> Future:
        """Run ``fn(*args)``, a generator, in a worker: ``on_item`` gets each item it yields as soon as the
        worker sends it (in the pool's thread), and the task's timeout starts again after each."""
        future: Future = Future()
        self._tasks.put((future, fn, args, on_item))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Finish running tasks and stop the workers; with ``cancel_futures``, kill them now."""
        if cancel_futures:
            self._killing = True
        self._closing = True
        self._manager.join()

    def _manage(self) -> None:
        pending: list = []
        while True:
            while True:
                try:
                    pending.append(self._tasks.get_nowait())
                except queue.Empty:
                    break
            for slot in self._slots:
                if not slot.ready and slot.conn.poll():
                    slot.ready = slot.conn.recv()[0] == "ready"
            for slot in self._slots:
                if slot.ready and slot.future is None and pending:
                    future, fn, args, on_item = pending.pop(0)
                    if not future.set_running_or_notify_cancel():
                        continue
                    slot.future, slot.on_item = future, on_item
                    slot.deadline = time.monotonic() + (self._timeout_s or float("inf"))
                    slot.conn.send((fn, args))
            if self._killing:
                for slot in self._slots:
                    if slot.future is not None:
                        slot.future.cancel() or slot.future.set_exception(CellTimeout("run interrupted"))
                    slot.stop(kill=True)
                for future, *_ in pending:
                    future.cancel()
                return
            busy = [s for s in self._slots if s.future is not None]
            if self._closing and not busy and not pending:
                for slot in self._slots:
                    slot.conn.send(None)
                    slot.stop()
                return
            starting = [s.conn for s in self._slots if not s.ready]
            ready = wait([s.conn for s in busy] + [s.process.sentinel for s in busy] + starting, timeout=0.05)
            for i, slot in enumerate(self._slots):
                if slot.future is None:
                    continue
                if slot.conn in ready:
                    try:
                        kind, payload = slot.conn.recv()
                    except (EOFError, OSError):
                        self._replace(i, WorkerCrashed(self._exit_text(slot)))
                        continue
                    if kind == "item":
                        slot.deadline = time.monotonic() + (self._timeout_s or float("inf"))
                        if slot.on_item is not None:
                            slot.on_item(payload)
                        continue
                    future, slot.future = slot.future, None
                    if kind == "ok":
                        future.set_result(payload)
                    else:
                        future.set_exception(RuntimeError(payload))
                elif slot.process.sentinel in ready:
                    self._replace(i, WorkerCrashed(self._exit_text(slot)))
                elif time.monotonic() > slot.deadline:
                    self._replace(i, CellTimeout(f"exceeded --cell-timeout of {self._timeout_s:g} s"),
                                  kill=True)

    @staticmethod
    def _exit_text(slot: _Slot) -> str:
        slot.process.join(timeout=1)
        code = slot.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return f"worker process died ({how})"

    def _replace(self, i: int, error: Exception, kill: bool = False) -> None:
        slot = self._slots[i]
        future = slot.future
        slot.stop(kill=kill)
        self._slots[i] = _Slot(self._ctx)
        future.set_exception(error)


# Series per task, at most. Measured with naive, seasonal naive and drift on the 414 M4 hourly
# series (1242 cells, 2 workers, a 2-core machine at load 4): a task costs about 0.5 ms of wall
# time beyond its cells (pickling its series, a round trip through the pool's thread), as much as
# a naive cell; from the first result to the last, one series per task took 1.2-1.9 s, 16 took
# 0.4-1.3 s, and 64 gained nothing more. Larger chunks only leave one worker alone with the last
# chunk for longer at the end of a run (16 ARIMA series take minutes).
CHUNK_SERIES = 16


chunk_key = global_walk_key      # what the cells of one chunk share: everything but the series


def chunks(cells: Iterable[Cell], size: int = CHUNK_SERIES, workers: int = 1) -> list[list[Cell]]:
    """Consecutive cells of one variant walk in chunks of at most ``size`` series, in the given order;
    a walk over fewer than ``size`` series per worker is shared out evenly (20 series, 2 workers: 10 + 10).
    A global model's walk is one chunk, all its cells (in order, wherever they stand), at its first cell's place."""
    out: list[list[Cell]] = []
    cells = list(cells)
    walks: dict[tuple, list[Cell]] = {}
    for cell in cells:
        if forecaster.is_global(cell.model):
            walks.setdefault(chunk_key(cell), []).append(cell)
    placed: set[tuple] = set()
    for key, run in itertools.groupby(cells, key=chunk_key):
        run = list(run)
        if key in walks:
            if key not in placed:
                placed.add(key)
                out.append(walks[key])
            continue
        step = max(1, min(size, math.ceil(len(run) / max(workers, 1))))
        out += [run[i:i + step] for i in range(0, len(run), step)]
    return out


def is_global_chunk(chunk: list[Cell]) -> bool:
    return forecaster.is_global(chunk[0].model)


def evaluate_chunk(cells: list[Cell], ys: list[pd.Series], ids: list[str] | None = None) -> Iterator[CellResult]:
    """Each cell of a chunk on its series, yielded as it finishes. A global chunk gets the whole
    panel: ``ys`` every series of it, ``ids`` their ids."""
    if ids is not None:
        yield from evaluate_global(cells, dict(zip(ids, ys)))
        return
    for cell, y in zip(cells, ys):
        yield evaluate_cell(cell, y)


def task_inputs(chunk: list[Cell], panel: Mapping[str, pd.Series]) -> tuple[list[Cell], list, list[str] | None]:
    """The arguments of ``evaluate_chunk`` for ``chunk``: its cells' series, or the whole panel for a global one."""
    if is_global_chunk(chunk):
        return chunk, list(panel.values()), list(panel)
    return chunk, [panel[c.series] for c in chunk], None


def _as_panels(series: Mapping) -> dict[str, dict[str, pd.Series]]:
    """``{dataset: {id: y}}``; a dataset given as one Series is a panel of one (id "")."""
    return {name: ({"": y} if isinstance(y, pd.Series) else y) for name, y in series.items()}


def execute(cells: Iterable[Cell], panels: Mapping, *, workers: int = 0,
            cell_timeout_s: float | None = None, cluster: str | None = None,
            chunk_series: int = CHUNK_SERIES) -> Iterator[CellResult]:
    """Evaluate cells and yield each result as it finishes.

    ``panels`` maps each dataset to its series by id (``bench.data.load_panel``; a plain
    Series stands for a single series). ``workers=0`` evaluates in this process, in order
    (no isolation: for notebooks and debugging); ``workers=N`` uses N isolated local
    processes; ``cluster`` submits to a running Dask scheduler at that address. Cells go to
    workers in ``chunks`` of at most ``chunk_series`` series.
    """
    panels = _as_panels(panels)
    cells = list(cells)
    if cluster:
        yield from _execute_dask(chunks(cells, chunk_series), panels, cluster)
        return
    if workers == 0:
        for chunk in chunks(cells, len(cells) or 1):
            yield from evaluate_chunk(*task_inputs(chunk, panels[chunk[0].dataset]))
        return
    pool = IsolatedPool(workers, cell_timeout_s)
    events: queue.SimpleQueue = queue.SimpleQueue()
    waiting: dict[int, list[Cell]] = {}       # each task's cells that have not reported yet, in order
    tags = itertools.count()

    def submit(chunk: list[Cell]) -> None:
        tag = next(tags)
        waiting[tag] = list(chunk)
        future = pool.submit_stream(evaluate_chunk, task_inputs(chunk, panels[chunk[0].dataset]),
                                     on_item=lambda result, tag=tag: events.put(("item", tag, result)))
        future.add_done_callback(lambda f, tag=tag: events.put(("done", tag, f)))

    for chunk in chunks(cells, chunk_series, workers):
        submit(chunk)
    try:
        while waiting:
            try:
                kind, tag, payload = events.get(timeout=0.5)     # a timeout, so that Ctrl-C is seen
            except queue.Empty:
                continue
            if kind == "item":
                waiting[tag].pop(0)
                yield payload
                continue
            left = waiting.pop(tag)
            if left:
                # The task ended before its last cell: the cell in flight timed out, crashed or could not
                # be sent back; the cells after it were not started and go to a new task.
                yield _result_for(left[0], payload)
                # A global walk's cells share the failed fit: they fail with it, nothing is retried.
                for cell in left[1:] if is_global_chunk(left) else ():
                    yield _result_for(cell, payload)
                if left[1:] and not is_global_chunk(left):
                    submit(left[1:])
    finally:
        # Normally every task is done here; after an interrupt, stop the workers now.
        pool.shutdown(cancel_futures=bool(waiting))


def _result_for(cell: Cell, future: Future) -> CellResult:
    try:
        future.result()
    except CellTimeout as exc:
        return CellResult(cell, "timeout", str(exc))
    except WorkerCrashed as exc:
        return CellResult(cell, "crashed", str(exc))
    except Exception as exc:
        name = type(exc).__name__
        status = "crashed" if name == "KilledWorker" else "failed"
        return CellResult(cell, status, f"{name}: {exc}")
    return CellResult(cell, "failed", "its task ended without a result for it")


def _evaluate_chunk_on_dask_worker(cells: list[Cell], ys: list[pd.Series],
                                   ids: list[str] | None = None) -> list[CellResult]:
    limit_threads()
    undo_eager_trimming()
    return list(evaluate_chunk(cells, ys, ids))


def _execute_dask(tasks: list[list[Cell]], panels: dict[str, dict[str, pd.Series]],
                  address: str) -> Iterator[CellResult]:
    """One Dask task per chunk, its results stored as the chunk finishes (a Dask task cannot stream);
    a worker lost with a chunk (KilledWorker) marks the chunk's cells crashed, and a resume retries them."""
    from distributed import Client, as_completed as dask_completed

    with Client(address, timeout="30s") as client:
        # Each series is sent to the workers once; a task names the series of its chunk. (As a list: a
        # scattered dict's keys would become the cluster's keys, and two panels may share an id.)
        shared = {name: dict(zip(panel, client.scatter(list(panel.values()), broadcast=True)))
                  for name, panel in panels.items()}
        # Higher priorities start first, among the tasks the scheduler holds back (it queues
        # a large group of tasks with few inputs, as here) and on each worker.
        futures = {client.submit(_evaluate_chunk_on_dask_worker,
                                 *task_inputs(chunk, shared[chunk[0].dataset]), pure=False,
                                 priority=len(tasks) - i): chunk
                   for i, chunk in enumerate(tasks)}
        for future in dask_completed(futures):
            if future.status == "finished":
                yield from future.result()
            else:
                for cell in futures[future]:
                    yield _result_for(cell, future)
