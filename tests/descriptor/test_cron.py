"""The cron spec check follows Jenkins' CrontabParser grammar and BaseParser bounds."""

from __future__ import annotations

import pytest

from jenkins_bridge.descriptor.cron import CronSpecError, check_cron_spec

VALID = [
    "* * * * *",
    "H/5 * * * *",
    "H 2 * * *",
    "H H(0-7) * * 1-5",
    "H(0-29)/10 * * * *",
    "0,15,30,45 * * * *",
    "0-59/15 0-23 1-31 1-12 0-7",
    "*/15 * * * *",
    "H H * * 7",  # 7 is Sunday too
    "H H 1,15 1-11/2 *",
    "H/1 * * * *",  # NO_STEP: H picks one minute
    "H(5-5) * * * *",
    "0-5/10 * * * *",  # a step longer than a plain range is allowed
    "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly",
    "  H 2 * * *  ",
    "H\t2\t*\t*\t*",
    "TZ=Europe/Berlin\nH 2 * * *",
    "# nightly\nH 2 * * *\n\nH 14 * * 1-5\n",
    "H 2 * * *\r\nH 3 * * *",
]  # fmt: skip
INVALID = [
    ("", "no schedule line"),
    ("# only a comment", "no schedule line"),
    ("H 2 * *", "needs 5 fields"),
    ("H 2 * * * *", "needs 5 fields"),
    ("0 9 * * MON", "no day or month names"),
    ("0 9 * JAN *", "no day or month names"),
    ("0 9 * * mon-fri", "no day or month names"),
    ("60 * * * *", "minute 60 is out of range (0-59)"),
    ("* 24 * * *", "hour 24 is out of range (0-23)"),
    ("* * 0 * *", "day of month 0 is out of range (1-31)"),
    ("* * * 13 *", "month 13 is out of range (1-12)"),
    ("* * * * 8", "day of week 8 is out of range (0-7)"),
    ("5-1 * * * *", "reversed"),
    ("H(9-3) * * * *", "reversed"),
    ("*/0 * * * *", "must be positive"),
    ("H/0 * * * *", "must be positive"),
    ("H/61 * * * *", "larger than the range (60)"),
    ("* * H/29 * *", "larger than the range (28)"),  # H in day of month stops at 28
    ("H(0-9)/11 * * * *", "larger than the range (10)"),
    ("every day", "needs 5 fields"),
    ("daily", "needs 5 fields"),
    ("@often", "unknown alias"),
    ("@daily 3", "unknown alias"),
    ("@ daily", "unknown alias"),
    ("h * * * *", "not a number"),
    ("H(0-9 * * * *", "not a number"),
    ("1,,2 * * * *", "not a number"),
    ("? * * * *", "not a number"),
    ("L * * * *", "not a number"),
    ("H 2 * * * # nightly", "needs 5 fields"),
    ("\u0661 * * * *", "not a number"),  # an Arabic-Indic digit is no Jenkins TOKEN
    ("TZ=Mars/Olympus\nH 2 * * *", "unknown time zone"),
    ("H 2 * * *\nTZ=Europe/Berlin", "line 2:"),
    ("H 2 * * *\nH 99 * * *", "line 2: hour 99"),
]  # fmt: skip


@pytest.mark.parametrize("spec", VALID)
def test_jenkins_accepts(spec: str) -> None:
    check_cron_spec(spec)


@pytest.mark.parametrize(("spec", "message"), INVALID)
def test_jenkins_refuses(spec: str, message: str) -> None:
    with pytest.raises(CronSpecError) as caught:
        check_cron_spec(spec)
    assert message in str(caught.value)


def test_a_valid_spec_is_checked_once_a_refused_one_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jenkins_bridge.descriptor import cron

    monkeypatch.setattr(cron, "_VALID", set())
    checked: list[str] = []
    real = cron._check_line

    def counting(line: str) -> None:
        checked.append(line)
        real(line)

    monkeypatch.setattr(cron, "_check_line", counting)
    for _ in range(3):
        check_cron_spec("H/5 * * * *")
        with pytest.raises(CronSpecError):
            check_cron_spec("61 * * * *")
    assert checked == ["H/5 * * * *"] + ["61 * * * *"] * 3


def test_the_valid_specs_remembered_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from jenkins_bridge.descriptor import cron

    monkeypatch.setattr(cron, "_VALID", set())
    monkeypatch.setattr(cron, "_VALID_MAX", 4)
    for minute in range(20):
        check_cron_spec(f"{minute} * * * *")
        assert len(cron._VALID) <= 4
    with pytest.raises(CronSpecError):
        check_cron_spec("60 * * * *")
