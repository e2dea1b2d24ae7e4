import pytest

from bench.splits import WalkForward


def test_origins_cover_the_test_span_with_the_full_horizon_inside_it():
    split = WalkForward(horizon=12, test_size=36)
    origins = list(split.origins(144))
    assert [o.position for o in origins] == list(range(108, 133))
    assert origins[-1].position + split.horizon == 144


def test_step_spaces_origins_and_refit_every_marks_every_kth_origin():
    split = WalkForward(horizon=24, test_size=672, step=24, refit_every=7)
    origins = list(split.origins(10_000))
    assert len(origins) == 28
    assert all(b.position - a.position == 24 for a, b in zip(origins, origins[1:]))
    assert [i for i, o in enumerate(origins) if o.refit] == [0, 7, 14, 21]


def test_sliding_window_starts_window_points_before_the_origin():
    split = WalkForward(horizon=1, test_size=5, window=50)
    for o in split.origins(100):
        assert o.position - o.train_start == 50


def test_expanding_window_always_starts_at_zero():
    assert {o.train_start for o in WalkForward(horizon=1, test_size=5).origins(100)} == {0}


def test_when_series_is_too_short_then_error_says_how_long_it_must_be():
    with pytest.raises(ValueError, match="at least 22 points"):
        list(WalkForward(horizon=1, test_size=20).origins(10))


@pytest.mark.parametrize("kwargs", [dict(horizon=0, test_size=5), dict(horizon=6, test_size=5),
                                    dict(horizon=1, test_size=5, step=0), dict(horizon=1, test_size=5, window=1)])
def test_invalid_split_is_rejected(kwargs):
    with pytest.raises(ValueError):
        WalkForward(**kwargs)
