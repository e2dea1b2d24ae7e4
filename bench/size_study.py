"""How often the leaderboard's significance claims are false, by simulation on its own protocols.

A test "holds its size" when, with two forecasters exactly as accurate, it calls their
difference significant at 5% no more than about 5% of the time. The loss differences
of a walk-forward protocol are simulated under that null with the protocol's overlap:
every forecast target gets an independent loss-difference shock, and an origin's loss
difference is the mean of the shocks of the ``horizon`` targets it forecasts, so
origins ``step`` points apart share ``horizon - step`` targets, as the real ones do.
A second design draws two forecasters' errors as sums of shocks accumulated from the
origin (a random walk's h-step errors) and takes their mean absolute errors: skewed,
heavier-tailed losses with the same overlap.

``python -m bench.size_study`` prints the size table of docs/reading_results.md. Numpy and scipy only;
every draw is seeded, so the table and the tests that read it are reproducible.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from bench import stats

LEVEL = 0.05


@dataclass(frozen=True)
class Protocol:
    name: str
    n_origins: int
    horizon: int        # forecast steps per origin
    step: int           # points between origins

    @property
    def overlap(self) -> int:
        """The DM test's horizon: consecutive origins that share a target."""
        return stats.overlapping_origins(self.horizon, self.step)

    @property
    def test_points(self) -> int:
        return (self.n_origins - 1) * self.step + self.horizon


def default_protocols() -> list[Protocol]:
    """The walk-forward protocol of every single-series catalog dataset (its ``[split]``); a panel's
    verdict compares series, not origins, so the origin test does not serve it."""
    from bench import data

    out = []
    for name in data.catalog_names():
        if data.get_dataset(name).is_panel:
            continue
        s = data.get_dataset(name).split
        out.append(Protocol(name, (s.test_size - s.horizon) // s.step + 1, s.horizon, s.step))
    return out


# ---------------------------------------------------------------------------- null designs

def overlapping_differences(p: Protocol, n_draws: int, rng: np.random.Generator, *, n_models: int = 1) -> np.ndarray:
    """(n_draws, n_models, n_origins) loss differences with mean 0 and the protocol's overlap.

    Each target's shock is standard normal; an origin averages its ``horizon`` targets.
    With ``n_models`` > 1 every series is drawn independently (a model's own losses).
    """
    shocks = rng.standard_normal((n_draws, n_models, p.test_points))
    cumulative = np.concatenate([np.zeros((n_draws, n_models, 1)), np.cumsum(shocks, axis=2)], axis=2)
    starts = np.arange(p.n_origins) * p.step
    return (cumulative[:, :, starts + p.horizon] - cumulative[:, :, starts]) / p.horizon


def absolute_error_differences(p: Protocol, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """(n_draws, n_origins): mean absolute error of forecaster A minus that of an equally good B.

    Both share a common random-walk error and each adds its own, accumulated from the
    origin to the target, so errors grow with the step and losses are skewed.
    """
    shocks = rng.standard_normal((3, n_draws, p.test_points))
    cumulative = np.concatenate([np.zeros((3, n_draws, 1)), np.cumsum(shocks, axis=2)], axis=2)
    starts = np.arange(p.n_origins) * p.step
    targets = starts[:, None] + np.arange(1, p.horizon + 1)
    accumulated = cumulative[:, :, targets] - cumulative[:, :, starts][:, :, :, None]
    common, own_a, own_b = accumulated
    return np.abs(common + own_a).mean(axis=2) - np.abs(common + own_b).mean(axis=2)


# ---------------------------------------------------------------------------- procedures
# Each takes (n_draws, n_origins) differences and the overlap h, and says which draws reject.

def ewc_rejects(d: np.ndarray, h: int) -> np.ndarray:
    """The leaderboard's test (``stats.diebold_mariano``); never rejects where it prints no p-value."""
    df = stats.dm_degrees_of_freedom(d.shape[1], h)
    if df < stats.MIN_DEGREES_OF_FREEDOM:
        return np.zeros(len(d), dtype=bool)
    return ewc_with(d, df)


def ewc_with(d: np.ndarray, df: int) -> np.ndarray:
    t = stats.studentized_means(d.T, df)
    return 2.0 * sps.t.sf(np.abs(t), df=df) < LEVEL


def _autocovariances(d: np.ndarray, lags: int) -> np.ndarray:
    n = d.shape[1]
    c = d - d.mean(axis=1, keepdims=True)
    return np.stack([np.einsum("ij,ij->i", c[:, k:], c[:, :n - k]) / n for k in range(lags + 1)], axis=1)


def _hln(n: int, h: int) -> float:
    return math.sqrt(max((n + 1 - 2 * h + h * (h - 1) / n) / n, 0.0))


def legacy_rejects(d: np.ndarray, h: int) -> np.ndarray:
    """The test before issue 13: rectangular HAC over h - 1 lags, HLN, t(n - 1), h = 1 fallback."""
    n = d.shape[1]
    gammas = _autocovariances(d, min(h, n) - 1)
    variance = (gammas[:, 0] + 2 * gammas[:, 1:].sum(axis=1)) / n
    fell_back = variance <= 0
    variance = np.where(fell_back, gammas[:, 0] / n, variance)
    hln = np.where(fell_back, _hln(n, 1), _hln(n, h))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = d.mean(axis=1) / np.sqrt(variance) * hln
    return 2.0 * sps.t.sf(np.abs(t), df=n - 1) < LEVEL


def legacy_fallback_share(d: np.ndarray, h: int) -> float:
    """How often the legacy test fell back to h = 1 (a non-positive rectangular variance)."""
    gammas = _autocovariances(d, min(h, d.shape[1]) - 1)
    return float(np.mean(gammas[:, 0] + 2 * gammas[:, 1:].sum(axis=1) <= 0)) if h > 1 else 0.0


def _bartlett_t(d: np.ndarray, bandwidth: int) -> np.ndarray:
    n = d.shape[1]
    gammas = _autocovariances(d, bandwidth - 1)
    weights = 1.0 - np.arange(bandwidth) / bandwidth
    variance = (gammas[:, 0] + 2 * (gammas[:, 1:] * weights[1:]).sum(axis=1)) / n
    return d.mean(axis=1) / np.sqrt(variance)


def bartlett_hln_rejects(d: np.ndarray, h: int) -> np.ndarray:
    """Newey-West (Bartlett weights over h - 1 lags), HLN correction, t(n - 1)."""
    n = d.shape[1]
    return 2.0 * sps.t.sf(np.abs(_bartlett_t(d, h) * _hln(n, h)), df=n - 1) < LEVEL


def fixed_b_rejects(d: np.ndarray, h: int) -> np.ndarray:
    """Bartlett over h - 1 lags against Kiefer and Vogelsang's (2005) fixed-b 5% critical value.

    Their two-sided 5% value for the Bartlett kernel, ``b`` = bandwidth / n:
    1.96 + 2.9694 b + 0.4160 b^2 - 0.5324 b^3.
    """
    b = h / d.shape[1]
    return np.abs(_bartlett_t(d, h)) > 1.96 + 2.9694 * b + 0.4160 * b ** 2 - 0.5324 * b ** 3


PROCEDURES = {
    "legacy": ("rectangular HAC, h - 1 lags, HLN, t(n-1), h = 1 fallback (before #13)", legacy_rejects),
    "bartlett": ("Newey-West (Bartlett), h - 1 lags, HLN, t(n-1)", bartlett_hln_rejects),
    "fixed_b": ("Bartlett, h - 1 lags, fixed-b critical value (Kiefer-Vogelsang 2005)", fixed_b_rejects),
    "ewc": ("EWC, B = floor(n / 2h) cosine terms, t(B) (the leaderboard's)", ewc_rejects),
}


def rejection_rates(p: Protocol, n_draws: int = 20_000, seed: int = 13, design: str = "gaussian") -> dict:
    """Share of draws each procedure rejects at 5% under the null, plus the legacy fallback share."""
    rng = np.random.default_rng(seed)
    d = (overlapping_differences(p, n_draws, rng)[:, 0] if design == "gaussian"
         else absolute_error_differences(p, n_draws, rng))
    rates = {key: float(np.mean(fn(d, p.overlap))) for key, (_, fn) in PROCEDURES.items()}
    rates["legacy_fallback"] = legacy_fallback_share(d, p.overlap)
    rates["ewc_two_terms"] = float(np.mean(ewc_with(d, 2))) if p.n_origins > 2 else math.nan
    return rates


def rule_grid(n_origins=(10, 15, 20, 25, 30, 40, 50, 75, 100, 150), overlaps=(1, 2, 3, 6, 12, 24),
              n_draws: int = 6000, seed: int = 13) -> dict[tuple[int, int], float]:
    """The chosen test's rejection rate (Gaussian design) wherever it gives a p-value, by (origins, overlap)."""
    rates = {}
    for h in overlaps:
        for n in n_origins:
            if not stats.too_few_windows(n, h):
                d = overlapping_differences(Protocol("grid", n, h, 1), n_draws, np.random.default_rng([seed, n, h]))
                rates[(n, h)] = float(np.mean(ewc_rejects(d[:, 0], h)))
    return rates


# ---------------------------------------------------------------------------- selection

def selection_claim_rates(n_candidates: int = 12, n_origins: int = 20, horizon: int = 1, n_draws: int = 4000,
                          seed: int = 13) -> dict:
    """How often "the winner is significantly better than naive" is printed when no model is.

    Naive and ``n_candidates`` models have equally good, independent per-target losses;
    the winner is the candidate with the lowest mean loss. ``single``: its DM test
    against naive alone (what the leaderboard did); ``holm``: Holm's adjustment over
    every candidate's test against naive (what it does); ``legacy``: the pre-#13 test
    without adjustment.
    """
    p = Protocol("selection", n_origins, horizon, 1)
    losses = overlapping_differences(p, n_draws, np.random.default_rng(seed), n_models=n_candidates + 1)
    d = losses[:, 1:, :] - losses[:, :1, :]                          # candidates minus naive
    winner = losses[:, 1:, :].mean(axis=2).argmin(axis=1)
    df = stats.dm_degrees_of_freedom(n_origins, horizon)
    t = stats.studentized_means(np.moveaxis(d, 2, 0), df)           # (n_draws, n_candidates)
    raw = 2.0 * sps.t.sf(np.abs(t), df=df)
    rows = np.arange(n_draws)
    better = t[rows, winner] < 0
    holm = np.array([stats.holm(r)[w] for r, w in zip(raw, winner)])
    legacy = legacy_rejects(d[rows, winner], horizon)
    return {"single": float(np.mean(better & (raw[rows, winner] < LEVEL))),
            "holm": float(np.mean(better & (holm < LEVEL))),
            "legacy": float(np.mean(legacy & better))}


def mcs_exclusion_rate(n_models: int = 13, n_origins: int = 20, horizon: int = 1, step: int = 1,
                       n_draws: int = 2000, seed: int = 13) -> float:
    """How often the 95% model confidence set leaves out a model when all ``n_models`` are equally good."""
    p = Protocol("mcs", n_origins, horizon, step)
    losses = overlapping_differences(p, n_draws, np.random.default_rng(seed), n_models=n_models)
    excluded = [np.nanmin(stats.model_confidence_set(draw.T, p.overlap)) < LEVEL for draw in losses]
    return float(np.mean(excluded))


# ------------------------------------------------------- the table in docs/reading_results.md

def size_table(n_draws: int = 20_000) -> str:
    """The table in docs/reading_results.md: rejections at nominal 5% under the null, per default protocol and procedure."""
    head = ("| protocol | origins, overlap h | windows | legacy | Newey-West + HLN | fixed-b | "
            "EWC, 2 terms | **leaderboard (EWC)** | same, absolute-error design |")
    lines = [head, "|" + "---|" * 9]
    for p in default_protocols():
        g = rejection_rates(p, n_draws)
        a = rejection_rates(p, n_draws, design="absolute_errors")
        windows = stats.non_overlapping_windows(p.n_origins, p.overlap)
        df = stats.dm_degrees_of_freedom(p.n_origins, p.overlap)
        if df < stats.MIN_DEGREES_OF_FREEDOM:
            chosen = chosen_abs = "no test: too few windows"
        else:
            chosen, chosen_abs = f"**{_pct(g['ewc'])}** (B = {df})", _pct(a["ewc"])
        fallback = f" ({_pct(g['legacy_fallback'])} fell back to h = 1)" if g["legacy_fallback"] >= 0.0005 else ""
        lines.append(f"| {p.name} | {p.n_origins}, {p.overlap} | {windows} | {_pct(g['legacy'])}{fallback} | "
                     f"{_pct(g['bartlett'])} | {_pct(g['fixed_b'])} | {_pct(g['ewc_two_terms'])} | {chosen} | "
                     f"{chosen_abs} |")
    return "\n".join(lines)


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.1f}%"


if __name__ == "__main__":
    print(size_table())
    s = selection_claim_rates(n_draws=20_000)
    print(f"\nK = 12 candidates as good as naive (20 origins, h = 1), false 'significantly better than "
          f"naive': legacy {_pct(s['legacy'])}, EWC alone {_pct(s['single'])}, EWC + Holm {_pct(s['holm'])}")
    grid = rule_grid()
    (n, h), worst = max(grid.items(), key=lambda item: item[1])
    print(f"Over {len(grid)} protocols of 10-150 origins and overlaps 1-24, the highest rate: {_pct(worst)} "
          f"({n} origins, overlap {h})")
    for n, h in ((20, 1), (28, 1), (109, 12)):
        print(f"95% MCS leaves out one of 13 equally good models ({n} origins, h = {h}): "
              f"{_pct(mcs_exclusion_rate(n_origins=n, horizon=h, n_draws=4000))}")
