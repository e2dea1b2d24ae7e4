"""Study a series before modelling it: ``python -m bench describe NAME | --csv FILE``.

What the report holds, in the order a course teaches it:

- the data as read: length, date range, frequency (declared and inferred from the
  timestamps), whether the rows were in time order, duplicate and missing timestamps,
  basic statistics;
- stationarity: ADF (H0: a unit root) and KPSS (H0: level-stationary) p-values on the
  series, its first and second differences and its seasonal difference, and the smallest
  differencing order at which both tests agree that the series is stationary;
- seasonality: the season length read from the autocorrelation (the highest prominent
  ACF peak of the series, or of its first difference when it needs differencing),
  compared with the catalog's value;
- two plots: an STL decomposition (trend, season, residual) and the ACF / PACF.

Long series are analysed on their last ``ANALYSIS_POINTS`` points (``--last`` changes
that; the report says so): the ADF lag search on all 121k hours of the energy series takes
minutes and an STL plot of it is a solid band.
"""
from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench import data
from bench.data import Dataset
from bench.errors import BenchError
from bench.files import write_atomic

ANALYSIS_POINTS = 10_000       # tests and ACF use at most the last this many points
STL_PLOT_SEASONS = 60          # the STL plot shows at most this many seasons...
STL_PLOT_MIN_POINTS = 2_000    # ...but never fewer points than this (when the series has them)
MAX_ACF_LAG = 800
MIN_SEASON_ACF = 0.2           # an ACF peak below this is not called a season
LEVEL = 0.05                   # significance level of the stationarity verdicts
MIN_TEST_POINTS = 20
DEFAULT_OUT = Path("results") / "describe"


@dataclass
class TestRow:
    label: str
    adf_p: float | None
    kpss_p: float | None
    note: str = ""          # "constant" (trivially stationary) or why a test could not run

    @property
    def adf_stationary(self) -> bool | None:
        return True if self.note.startswith("constant") else None if self.adf_p is None else self.adf_p < LEVEL

    @property
    def kpss_stationary(self) -> bool | None:
        return True if self.note.startswith("constant") else None if self.kpss_p is None else self.kpss_p > LEVEL

    def verdict(self) -> str:
        if self.note:
            return self.note
        a, k = self.adf_stationary, self.kpss_stationary
        if a is None or k is None:
            return "a test failed"
        if a and k:
            return "stationary"
        if not a and not k:
            return "not stationary"
        return "ADF: stationary, KPSS: not" if a else "KPSS: stationary, ADF: unit root not rejected"


@dataclass
class Seasonality:
    lags_searched: int
    on: str                                   # "the series" or "the first difference"
    peaks: list[tuple[int, float]]            # prominent ACF peaks, strongest first
    band: float                               # 95% band of a white-noise ACF
    acf: np.ndarray = field(repr=False)

    @property
    def estimate(self) -> int | None:
        """The strongest peak, when it is strong enough to call a season."""
        return self.peaks[0][0] if self.peaks and self.peaks[0][1] >= MIN_SEASON_ACF else None

    @staticmethod
    def strength(r: float) -> str:
        return "clear" if r >= 0.4 else "moderate"


@dataclass
class Description:
    dataset: Dataset
    text: str
    stl_png: Path | None         # None: not drawn (the report says why)
    acf_png: Path | None
    suggested_d: int | None
    season_estimate: int | None


def describe(ds: Dataset, *, out_dir: str | Path = DEFAULT_OUT, last: int | None = None,
             frequency_basis: str = "catalog", season_basis: str = "catalog") -> Description:
    """Read ``ds``, analyse it and write its two plots; every problem is a BenchError."""
    if last is not None and last < MIN_TEST_POINTS:
        raise BenchError(f"--last must be at least {MIN_TEST_POINTS}, got {last}")
    source = data.source_of(ds)
    # The report states duplicates and gaps; the analysis repairs them as `run` would be
    # told to (mean, linear interpolation) when the dataset has no policy of its own.
    lenient = dataclasses.replace(ds, duplicates="mean" if ds.duplicates == "error" else ds.duplicates,
                                  gaps="interpolate" if ds.gaps == "error" else ds.gaps)
    raw = data.read_raw(lenient)
    options = data.USER_OPTIONS if ds.origin == "user" else None
    y = data.regularize(raw, frequency=ds.frequency, calendar=ds.calendar, duplicates=lenient.duplicates,
                        gaps=lenient.gaps, source=source, options=options, warn=False)
    data.check_not_constant(y, source)
    y = y.rename(ds.name)

    lines = _header(ds, raw, y, source, frequency_basis)
    window = y if last is None and len(y) <= ANALYSIS_POINTS else y.iloc[-(last or ANALYSIS_POINTS):]
    if len(window) < len(y):
        timed = bool((y.index != y.index.normalize()).any())
        lines += ["", f"Analysis window: the last {len(window)} of {len(y)} points ({_when(window.index[0], timed)} "
                      f".. {_when(window.index[-1], timed)}); --last N changes it."]
    m = ds.season_length
    import statsmodels.tsa.stattools  # noqa: F401  (imported first: it installs warning filters of its own)
    with warnings.catch_warnings(), _one_blas_thread():
        warnings.simplefilter("ignore")      # statsmodels' interpolation and convergence chatter
        rows, d_both, d_adf, d_kpss = _stationarity(window.to_numpy(dtype=float), m)
        seasonality = _seasonality(window.to_numpy(dtype=float), d_both if d_both is not None else d_adf)
    lines += _stationarity_lines(rows, d_both, d_adf, d_kpss)
    lines += _seasonality_lines(seasonality, m, season_basis)

    out_dir = Path(out_dir)
    period = m if m >= 2 else (seasonality.estimate or 0)
    period_basis = season_basis if m >= 2 else "estimated from the ACF"
    stl_png, stl_note = None, "skipped: no season (catalog season 1 and no ACF peak)"
    if period >= 2:
        stl_points = min(len(window), max(STL_PLOT_MIN_POINTS, STL_PLOT_SEASONS * period))
        part = window.iloc[-stl_points:]
        if len(part) < 2 * period + 1:
            stl_note = f"skipped: STL needs more than two seasons ({2 * period + 1} points), the series has {len(part)}"
        else:
            stl_png = out_dir / f"{ds.name}_stl.png"
            failed = _drawn(lambda: _stl_figure(ds, part, period, period_basis, len(y)), stl_png)
            stl_note = failed or f"{stl_png}  (period {period}, {period_basis}" + (
                f"; last {len(part)} points" if len(part) < len(y) else "") + ")"
            stl_png = None if failed else stl_png
    acf_png = out_dir / f"{ds.name}_acf.png"
    d_plot = d_both if d_both is not None else 1
    failed = _drawn(lambda: _acf_figure(ds, window, d_plot, m, seasonality.estimate, len(y)), acf_png)
    acf_note = failed or f"{acf_png}  (the series" + (f" and its difference of order {d_plot})" if d_plot else ")")
    acf_png = None if failed else acf_png
    lines += ["", "Plots",
              f"  STL decomposition     {stl_note}",
              f"  ACF / PACF            {acf_note}"]
    return Description(ds, "\n".join(lines) + "\n", stl_png, acf_png, d_both, seasonality.estimate)


def _drawn(figure, path: Path) -> str:
    """Draw ``figure()`` into ``path``: "" when it is written, else what the report says instead.

    The report is worth having without a plot: a figure that matplotlib cannot draw (dates it
    cannot place, values it cannot scale) is one line of the report, never a traceback.
    A file that cannot be written is an error of the machine (``OSError``), as anywhere.
    """
    try:
        _write_png(figure(), path)
    except (ValueError, OverflowError, ArithmeticError, RuntimeError) as exc:
        text = " ".join(str(exc).split())[:160] or type(exc).__name__
        return f"not drawn (matplotlib: {text})"
    return ""


@contextlib.contextmanager
def _one_blas_thread():
    """Run numpy's BLAS on one thread for the block (best effort; a no-op where unsupported).

    The ADF lag search is ~40 small least-squares fits per test; with multi-threaded
    OpenBLAS on a busy 2-core machine they ran 10-50x slower than on one thread.
    """
    lib = None
    for path in sorted((Path(np.__file__).resolve().parent.parent / "numpy.libs").glob("libscipy_openblas*")):
        with contextlib.suppress(OSError):
            lib = ctypes.CDLL(str(path))
    names = [("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
             ("openblas_get_num_threads", "openblas_set_num_threads")]
    pair = next(((getattr(lib, g), getattr(lib, s)) for g, s in names
                 if lib is not None and hasattr(lib, g) and hasattr(lib, s)), None)
    if pair is None:
        yield
        return
    get, set_ = pair
    before = int(get())
    set_(1)
    try:
        yield
    finally:
        set_(before)


# --------------------------------------------------------------------------- the data as read

def _header(ds: Dataset, raw: pd.Series, y: pd.Series, source: str, frequency_basis: str) -> list[str]:
    files = ", ".join(str(data.locate_file(ds, f)) for f in ds.files)
    unique = raw.index.unique()
    inferred = data.infer_frequency(raw.index)
    timed = bool((y.index != y.index.normalize()).any())
    when = lambda t: _when(t, timed)
    lines = [f"{ds.name}: {ds.description}",
             f"  {'files' if len(ds.files) > 1 else 'file':22s}{files}",
             f"  rows                  {len(raw)}" + ("" if raw.index.is_monotonic_increasing
                                                     else " (not in time order: sorted)"),
             f"  length                {len(y)} points",
             f"  range                 {when(y.index[0])} .. {when(y.index[-1])}",
             f"  frequency             {ds.frequency} ({frequency_basis}"
             + (" from the timestamps)" if frequency_basis == "inferred" else f"); from the timestamps: {inferred}")
             + ("  (!) differs" if inferred and inferred != ds.frequency and ds.calendar == "regular" else "")]
    if raw.attrs.get("year_month"):
        first = raw.attrs["year_month"]
        year, month = map(int, first.split("-"))
        lines.append(f"  time labels           years and months ({first!r}: month {month} of year {year}); a "
                     f"two-digit year such as '98-01' for 1998 needs --time-format %y-%m")
    n_dup = int(raw.index.duplicated().sum())
    if n_dup:
        first = ", ".join(when(t) for t in raw.index[raw.index.duplicated(keep=False)].unique()[:3])
        lines.append(f"  duplicate timestamps  {n_dup} (first: {first}); {_policy(ds, 'duplicates', 'averaged')}")
    else:
        lines.append("  duplicate timestamps  none")
    if ds.calendar == "observed":
        weekdays = pd.date_range(unique.min(), unique.max(), freq=ds.frequency)
        closed = weekdays.difference(unique)
        lines.append(f"  missing timestamps    none; {len(closed)} closed weekdays are holidays of the "
                     f"trading calendar (nothing is invented for them)")
    else:
        grid = pd.date_range(unique.min(), unique.max(), freq=ds.frequency)
        missing = grid.difference(unique)
        if len(missing) and not data.fill_is_small(len(missing), len(grid)):
            check = " (--freq, --time-format)" if ds.origin == "user" else ""
            lines.append(f"  missing timestamps    {len(missing)} (first: {when(missing[0])}), "
                         f"{len(missing) / len(grid):.0%} of the {len(grid)} points at {ds.frequency!r}: "
                         f"interpolated for this analysis, but that many invented values are no series to "
                         f"forecast; check that the timestamps are read right{check}")
        elif len(missing):
            lines.append(f"  missing timestamps    {len(missing)} (first: {when(missing[0])}); "
                         f"{_policy(ds, 'gaps', 'interpolated')}")
        else:
            lines.append("  missing timestamps    none")
    q = y.quantile([0.25, 0.5, 0.75])
    if ds.unit:
        lines.append(f"  unit                  {ds.unit}")
    lines.append(f"  values                mean {_num(y.mean())}  std {_num(y.std())}  min {_num(y.min())}  "
                 f"25% {_num(q[0.25])}  median {_num(q[0.5])}  75% {_num(q[0.75])}  max {_num(y.max())}")
    non_positive = int((y <= 0).sum())
    if non_positive:
        lines.append(f"  non-positive values   {non_positive} ({non_positive / len(y):.1%}): models that need "
                     f"positive values (logs, multiplicative seasons) are skipped on this series")
    return lines


def _policy(ds: Dataset, field_name: str, repaired: str) -> str:
    value = getattr(ds, field_name)
    if value != "error":
        return f"{'catalog' if ds.origin == 'catalog' else 'dataset'} policy: {value}"
    option = data.USER_OPTIONS[field_name] if ds.origin == "user" else f"{field_name} in the catalog entry"
    return f"{repaired} for this analysis; `run` needs {option}"


def _when(t: pd.Timestamp, timed: bool = False) -> str:
    """A date, or a date and time for a series that steps within a day."""
    t = pd.Timestamp(t)
    return str(t) if timed or t != t.normalize() else str(t.date())


def _num(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.4g}"


# --------------------------------------------------------------------------- stationarity

def _pvalues(x: np.ndarray) -> tuple[float | None, float | None, str]:
    from statsmodels.tsa.stattools import adfuller, kpss

    x = x[np.isfinite(x)]
    if len(x) < MIN_TEST_POINTS:
        return None, None, f"too short to test (< {MIN_TEST_POINTS} points)"
    if np.ptp(x) <= 1e-12 * max(1.0, float(np.max(np.abs(x)))):
        return None, None, "constant (trivially stationary)"
    try:
        adf = float(adfuller(x, autolag="AIC")[1])
    except (ValueError, np.linalg.LinAlgError):
        adf = None
    try:
        kp = float(kpss(x, regression="c", nlags="auto")[1])
    except (ValueError, np.linalg.LinAlgError, OverflowError):
        kp = None
    return adf, kp, ""


def _stationarity(x: np.ndarray, m: int):
    diffs = [x, np.diff(x), np.diff(x, n=2)]
    rows = [TestRow(label, *_pvalues(v)) for label, v in
            zip(("series", "1st difference", "2nd difference"), diffs)]
    if m > 1 and len(x) > 3 * m + MIN_TEST_POINTS:
        seasonal = x[m:] - x[:-m]
        rows.append(TestRow(f"seasonal diff. (lag {m})", *_pvalues(seasonal)))
        rows.append(TestRow("1st + seasonal diff.", *_pvalues(np.diff(seasonal))))
    first = lambda ok: next((d for d in range(3) if ok(rows[d])), None)
    d_both = first(lambda r: r.adf_stationary and r.kpss_stationary)
    return rows, d_both, first(lambda r: r.adf_stationary), first(lambda r: r.kpss_stationary)


def _stationarity_lines(rows, d_both, d_adf, d_kpss) -> list[str]:
    lines = ["", f"Stationarity ({LEVEL:.0%} level; ADF H0: unit root, lags by AIC; KPSS H0: level-stationary)",
             f"  {'':24s}{'ADF p':>8s}  {'KPSS p':>8s}  verdict"]
    for r in rows:
        lines.append(f"  {r.label:24s}{_p_adf(r.adf_p):>8s}  {_p_kpss(r.kpss_p):>8s}  {r.verdict()}")
    alone = f"ADF alone: {_d(d_adf)}, KPSS alone: {_d(d_kpss)}"
    if d_both is None:
        lines.append(f"  suggested differencing order: more than 2 (no order up to 2 satisfies both tests; {alone})")
    else:
        lines.append(f"  suggested differencing order: d = {d_both} (the smallest at which both tests agree; "
                     f"{alone})")
    return lines


def _p_adf(p: float | None) -> str:
    return "n/a" if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def _p_kpss(p: float | None) -> str:
    # statsmodels interpolates KPSS p-values in a table that spans 0.01 .. 0.10
    return "n/a" if p is None else "<0.01" if p <= 0.01 else ">0.10" if p >= 0.1 else f"{p:.3f}"


def _d(d: int | None) -> str:
    return "none up to 2" if d is None else str(d)


# --------------------------------------------------------------------------- seasonality

def _seasonality(x: np.ndarray, d: int | None) -> Seasonality:
    from scipy.signal import find_peaks
    from statsmodels.tsa.stattools import acf

    on = "the series"
    if d:                                   # one difference removes a trend; more only adds noise
        x, on = np.diff(x), "the first difference"
    n_lags = max(2, min(len(x) // 2, MAX_ACF_LAG))
    r = acf(x, nlags=n_lags, fft=True)
    band = 1.96 / np.sqrt(len(x))
    found, _ = find_peaks(r, height=band, prominence=band)
    peaks = sorted(((int(k), float(r[k])) for k in found if k >= 2), key=lambda p: -p[1])
    return Seasonality(n_lags, on, peaks, band, r)


def _seasonality_lines(s: Seasonality, m: int, season_basis: str) -> list[str]:
    lines = ["", f"Seasonality (autocorrelation of {s.on}, lags 2..{s.lags_searched}; "
                 f"95% noise band +-{s.band:.3f})"]
    if s.peaks:
        shown = ", ".join(f"{k} ({r:.2f})" for k, r in s.peaks[:5])
        lines.append(f"  ACF peaks             {shown}")
    else:
        lines.append("  ACF peaks             none stands out of the noise band")
    if s.estimate is not None:
        k, r = s.peaks[0]
        lines.append(f"  estimated season      {k} ({s.strength(r)}: r = {r:.2f})")
    else:
        lines.append(f"  estimated season      none (no ACF peak reaches r = {MIN_SEASON_ACF})")
    at_m = (f"r = {s.acf[m]:.2f} at lag {m}" if 1 < m <= s.lags_searched else
            "beyond the lags searched" if m > 1 else "no season")
    lines.append(f"  {'season (' + season_basis + ')':<21s} {m} ({at_m}): {_compare(s.estimate, m)}")
    return lines


def _compare(estimate: int | None, m: int) -> str:
    if estimate is None:
        return "the ACF shows no season" + (" either" if m <= 1 else " to confirm it")
    if m <= 1:
        return f"the ACF suggests {estimate}"
    if estimate == m:
        return "agrees with the ACF"
    if abs(estimate - m) <= max(1, 0.1 * m):
        return f"close to the ACF's {estimate}"
    if estimate % m == 0:
        return f"the ACF's {estimate} is a multiple of it"
    if m % estimate == 0:
        return f"the ACF's {estimate} divides it"
    return f"differs from the ACF's {estimate}"


# --------------------------------------------------------------------------- plots

def _stl_figure(ds: Dataset, part: pd.Series, period: int, basis: str, n_total: int):
    from matplotlib.figure import Figure
    from statsmodels.tsa.seasonal import STL

    res = STL(part.to_numpy(dtype=float), period=period, robust=True).fit()
    fig = Figure(figsize=(11, 8.5), layout="constrained")
    axes = fig.subplots(4, 1, sharex=True)
    t = part.index
    unit = f" ({ds.unit})" if ds.unit else ""
    thin = 0.6 if len(part) > 1000 else 1.0
    for ax, values, label in zip(axes, (part.to_numpy(), res.trend, res.seasonal),
                                 ("observed", "trend", f"season (period {period})")):
        ax.plot(t, values, lw=thin, color="tab:blue")
        ax.set_ylabel(label)
    axes[3].plot(t, res.resid, lw=0, marker=".", ms=2 if len(part) > 1000 else 4, color="tab:gray")
    axes[3].axhline(0, color="black", lw=0.6)
    axes[3].set_ylabel("residual")
    for ax in axes:
        ax.grid(alpha=0.3)
    # No margin beyond the data: matplotlib places dates from year 1 on, and a series that starts
    # there (labels such as "1-01") would otherwise need a tick in year 0.
    axes[0].set_xlim(t[0], t[-1])
    span = "" if len(part) == n_total else f", last {len(part)} of {n_total} points"
    fig.suptitle(f"{ds.name}{unit}: STL decomposition (period {period}, {basis}{span})")
    return fig


def _acf_figure(ds: Dataset, window: pd.Series, d: int, m: int, estimate: int | None, n_total: int):
    from matplotlib.figure import Figure
    from statsmodels.graphics.tsaplots import plot_acf, plot_pacf

    x = window.to_numpy(dtype=float)
    series = [("series", x)] + ([(f"difference of order {d}", np.diff(x, n=d))] if d else [])
    fig = Figure(figsize=(11, 3.6 * len(series) + 0.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(series), 2))
    for row, (label, v) in zip(axes, series):
        lags = int(min(len(v) // 2 - 1, max(40, 2.2 * max(m, estimate or 0))))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plot_acf(v, ax=row[0], lags=lags, fft=True, title=f"ACF of the {label}", markersize=3)
            plot_pacf(v, ax=row[1], lags=lags, method="ldb", title=f"PACF of the {label}", markersize=3)
        for ax in row:
            ax.set_xlabel("lag")
            if m > 1:
                for k in range(m, lags + 1, m):
                    ax.axvline(k, color="tab:orange", lw=0.8, alpha=0.5)
    span = "" if len(window) == n_total else f", last {len(window)} of {n_total} points"
    marks = f"; orange lines at multiples of the season {m}" if m > 1 else ""
    fig.suptitle(f"{ds.name}: autocorrelation{span}{marks}")
    return fig


def _write_png(fig, path: Path) -> None:
    """Save atomically: rendered in memory, then written to a temporary file and renamed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    write_atomic(path, buffer.getvalue())
