"""LMS growth references: the WHO 2006 standards and the CDC 2000 charts, and the LMS z-score.

What: a z-score and percentile for one measurement against an LMS reference (Box-Cox power L,
median M, coefficient of variation S at the child's age, or at the child's length/height for
weight-for-length/height), and WHO's restricted application for weight-based indicators.

Method (Cole & Green 1992, Stat Med 11:1305): z = ((X/M)^L - 1)/(L*S), or ln(X/M)/S when L = 0;
the centile value at z is M(1 + L*S*z)^(1/L). WHO's restricted application (WHO Child Growth
Standards 2006, technical report chapter 7) for weight-for-age, weight-for-length/height and
BMI-for-age: beyond |z| > 3 the distance is measured in units of the last SD step, z* = 3 +
(X - SD3)/(SD3 - SD2), and symmetrically below -3.

Tables: ``pmpath/data/growth/`` (see its SOURCE.md): WHO tables by age in days 0-1856 (exact
row per day) or by length/height in 0.1 cm steps (linear interpolation of L, M and S between
rows, as WHO anthro does for off-grid lengths); CDC tables at half-month midpoints
24.5-240.5 months (linear interpolation of L, M and S at the exact age in months, age in days /
30.4375; ages 24.0-24.5 months use the first row).

Heavy lifting: numpy/pandas read the tables; the ~20 lines of LMS arithmetic are written here
because the Python packages are either AGPL (rcpchgrowth), month-indexed and unmaintained
(pygrowup) or WHO-only (anthro); the tables are the published ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from pmpath.domain.errors import InvalidInputError

DAYS_PER_MONTH = 30.4375
"""WHO's conversion between age in days and months (365.25 / 12)."""


class Reference(StrEnum):
    """A growth reference: WHO 2006 standards (0-5 y) or CDC 2000 charts (2-20 y)."""

    WHO_2006 = "WHO 2006"
    CDC_2000 = "CDC 2000"


class Indicator(StrEnum):
    """A growth indicator (what is measured, against what)."""

    WEIGHT_FOR_AGE = "weight_for_age"
    LENGTH_HEIGHT_FOR_AGE = "length_height_for_age"
    BMI_FOR_AGE = "bmi_for_age"
    HEAD_CIRCUMFERENCE_FOR_AGE = "head_circumference_for_age"
    WEIGHT_FOR_LENGTH = "weight_for_length"
    WEIGHT_FOR_HEIGHT = "weight_for_height"


WEIGHT_BASED = frozenset(
    {
        Indicator.WEIGHT_FOR_AGE,
        Indicator.BMI_FOR_AGE,
        Indicator.WEIGHT_FOR_LENGTH,
        Indicator.WEIGHT_FOR_HEIGHT,
    }
)
"""Indicators WHO's restricted application applies to (length/height and head are exempt)."""

_WHO_FILES = {
    Indicator.WEIGHT_FOR_AGE: "weianthro.txt",
    Indicator.LENGTH_HEIGHT_FOR_AGE: "lenanthro.txt",
    Indicator.BMI_FOR_AGE: "bmianthro.txt",
    Indicator.HEAD_CIRCUMFERENCE_FOR_AGE: "hcanthro.txt",
    Indicator.WEIGHT_FOR_LENGTH: "wflanthro.txt",
    Indicator.WEIGHT_FOR_HEIGHT: "wfhanthro.txt",
}
_CDC_FILES = {
    Indicator.WEIGHT_FOR_AGE: "wtage.csv",
    Indicator.LENGTH_HEIGHT_FOR_AGE: "statage.csv",
    Indicator.BMI_FOR_AGE: "bmiage.csv",
}


@dataclass(frozen=True)
class LMS:
    """Box-Cox power, median and coefficient of variation at one age or length."""

    l: float  # noqa: E741 - the published name of the parameter
    m: float
    s: float


@dataclass(frozen=True)
class LmsTable:
    """One sex's LMS rows of one indicator, indexed by ``x`` (age in days or months, or cm)."""

    x: np.ndarray
    l: np.ndarray  # noqa: E741
    m: np.ndarray
    s: np.ndarray

    def at(self, x: float, *, exact: bool) -> LMS:
        """Return the LMS at ``x``: the row itself when ``exact`` (WHO ages in days), else
        linear interpolation between the neighbouring rows; ValueError outside the table."""
        if x < self.x[0] - 1e-9 or x > self.x[-1] + 1e-9:
            raise ValueError(f"{x} is outside the table ({self.x[0]}-{self.x[-1]})")
        if exact:
            i = int(np.searchsorted(self.x, x - 1e-9))
            return LMS(float(self.l[i]), float(self.m[i]), float(self.s[i]))
        return LMS(
            float(np.interp(x, self.x, self.l)),
            float(np.interp(x, self.x, self.m)),
            float(np.interp(x, self.x, self.s)),
        )


def _data_text(folder: str, name: str) -> str:
    return resources.files("pmpath.data").joinpath("growth", folder, name).read_text("utf-8")


@cache
def who_table(indicator: Indicator, sex: int) -> LmsTable:
    """Return WHO 2006's LMS rows for ``indicator`` and ``sex`` (1 male, 2 female), indexed by
    age in days, or by length/height in cm for weight-for-length/height."""
    import io

    frame = pd.read_csv(io.StringIO(_data_text("who2006", _WHO_FILES[indicator])), sep="\t")
    frame = frame[frame["sex"] == sex].sort_values(frame.columns[1])
    return LmsTable(
        x=frame.iloc[:, 1].to_numpy(float),
        l=frame["l"].to_numpy(float),
        m=frame["m"].to_numpy(float),
        s=frame["s"].to_numpy(float),
    )


@cache
def cdc_table(indicator: Indicator, sex: int) -> LmsTable:
    """Return CDC 2000's LMS rows for ``indicator`` and ``sex``, indexed by age in months."""
    import io

    frame = pd.read_csv(io.StringIO(_data_text("cdc2000", _CDC_FILES[indicator])))
    frame = frame[frame["Sex"] == sex].sort_values("Agemos")
    return LmsTable(
        x=frame["Agemos"].to_numpy(float),
        l=frame["L"].to_numpy(float),
        m=frame["M"].to_numpy(float),
        s=frame["S"].to_numpy(float),
    )


def lms_z(value: float, lms: LMS) -> float:
    """Return the LMS z-score of ``value`` (Cole & Green 1992): ((X/M)^L - 1)/(L*S), or
    ln(X/M)/S when L = 0."""
    if value <= 0:
        raise InvalidInputError(f"a measurement must be positive, got {value}")
    if abs(lms.l) < 1e-12:
        return math.log(value / lms.m) / lms.s
    return float(((value / lms.m) ** lms.l - 1.0) / (lms.l * lms.s))


def lms_value(z: float, lms: LMS) -> float:
    """Return the measurement at z-score ``z``: M(1 + L*S*z)^(1/L), or M*exp(S*z) when L = 0."""
    if abs(lms.l) < 1e-12:
        return float(lms.m * math.exp(lms.s * z))
    return float(lms.m * (1.0 + lms.l * lms.s * z) ** (1.0 / lms.l))


def restricted_z(value: float, lms: LMS) -> float:
    """Return WHO's restricted-application z-score (WHO 2006 technical report, ch. 7): the LMS
    z within [-3, 3]; beyond, 3 + (X - SD3)/(SD3 - SD2) or -3 + (X - SD3neg)/(SD2neg - SD3neg)."""
    z = lms_z(value, lms)
    if z > 3:
        sd3, sd2 = lms_value(3, lms), lms_value(2, lms)
        return 3.0 + (value - sd3) / (sd3 - sd2)
    if z < -3:
        sd3n, sd2n = lms_value(-3, lms), lms_value(-2, lms)
        return -3.0 + (value - sd3n) / (sd2n - sd3n)
    return z
