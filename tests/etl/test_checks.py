"""Value checks: SIRET/SIREN keys, CPV codes, amounts, dates in Europe/Paris."""
import datetime as dt

import pandas as pd

from etl import checks


def test_siret_and_siren_luhn_with_la_poste_rule():
    values, invalid = checks.normalise_ident(pd.Series(["732 829 320 00074", "73282932000075", "35600000000015",
                                                        "35600000000016", "35600000000048", "123", None]), 14)
    assert values.tolist() == ["73282932000074", None, "35600000000015", None, "35600000000048", None, None]
    assert invalid.tolist() == [False, True, False, True, False, True, False]
    values, invalid = checks.normalise_ident(pd.Series(["732829320", "732829321"]), 9)
    assert invalid.tolist() == [False, True]


def test_cpv_amounts_and_integers_are_normalised():
    cpv, bad = checks.normalise_cpv(pd.Series(["90513500", "906200001", " 09134000-7", "abc"]))
    assert cpv.tolist() == ["90513500", "90620000-1", "09134000-7", None]
    assert bad.tolist() == [False, False, False, True]
    amounts, bad = checks.normalise_decimal(pd.Series(["1 234,56", "27605.0", "12\u202f000", "n/a"]))
    assert amounts.tolist() == ["1234.56", "27605.00", "12000.00", None]
    assert bad.tolist() == [False, False, False, True]


def test_dates_without_offset_are_paris_local_time_and_future_is_flagged():
    values, invalid, future = checks.normalise_datetime(
        pd.Series(["2023-07-17 10:00", "2023-01-17T10:00:00Z", "17/07/2023 10:00", "0218-10-29", "2999-01-01"]),
        now=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc))
    assert [v.isoformat() for v in values.tolist()[:3]] == [
        "2023-07-17T08:00:00+00:00", "2023-01-17T10:00:00+00:00", "2023-07-17T08:00:00+00:00"]
    assert values[3:].isna().all()
    assert invalid.tolist() == [False, False, False, True, False]
    assert future.tolist() == [False, False, False, False, True]


def test_month_dates_are_the_first_of_the_month():
    values, invalid, _ = checks.normalise_date(pd.Series(["2020-12", "2023-07-17", "31/12/2019", "x"]))
    assert values.tolist() == ["2020-12-01", "2023-07-17", "2019-12-31", None]
    assert invalid.tolist() == [False, False, False, True]


def test_to_float_returns_arrays_the_caller_may_write():
    # The point reader blanks invalid coordinates in place: a read-only array made a CSV with
    # one non-numeric coordinate fail with "assignment destination is read-only" instead of
    # rejecting that row.
    numbers, bad = checks.to_float(pd.Series(["1,5", "abc"], dtype="string[pyarrow]"))
    numbers[bad] = float("nan")
    assert numbers[0] == 1.5
