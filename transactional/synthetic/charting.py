"""What is charted at each generated visit: vitals, diagnoses, procedures, labs with their
flags, prescriptions and imaging.

Times inside a visit are minutes after the visit began (`offset`), because an office visit's
start is a wall-clock slot that becomes a UTC instant only when tables are built.
"""

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from transactional.orders.catalog import LabTest, catalog
from transactional.synthetic import model
from transactional.synthetic.timeline import NEVER, Days

if TYPE_CHECKING:
    from transactional.synthetic.history import Simulation, State

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]

SYSTOLIC, DIASTOLIC, HEART_RATE, RESPIRATION = "8480-6", "8462-4", "8867-4", "9279-1"
TEMPERATURE, SPO2, WEIGHT, HEIGHT, BMI = "8310-5", "59408-5", "29463-7", "8302-2", "39156-5"
HBA1C, LIPIDS, BMP, CBC, CYP2C19 = "4548-4", "24331-1", "51990-0", "58410-2", "79714-2"
CHEST_XRAY = "36643-5"
CYP2C19_ANSWERS = ("LA10315-2", "LA25390-8", "LA25391-6", "LA10317-8", "LA9657-3")
POOR_METABOLIZER = 4
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"


@dataclass(frozen=True)
class Regimen:
    """A prescription as a prescriber would type it; `tables.py` runs it through the same
    parsing and terminology checks as the API."""

    medication: str  # RxNorm ingredient or clinical drug
    dose: str
    route: str
    frequency: str
    indication: str  # ICD-10-CM
    quantity: int | None = 30
    quantity_unit: str | None = "tablet"
    refills: int = 11
    days: int = 30


REGIMENS = {
    "metformin": Regimen("861007", "1 tablet", "oral", "BID", "E11.9", quantity=60),
    "insulin_glargine": Regimen(
        "274783",
        "20 [IU]",
        "subcutaneous",
        "at bedtime",
        "E11.9",
        quantity=None,
        quantity_unit=None,
    ),
    "lisinopril": Regimen("314076", "1 tablet", "oral", "daily", "I10"),
    "amlodipine": Regimen("197361", "1 tablet", "oral", "daily", "I10"),
    "hydrochlorothiazide": Regimen("310798", "1 tablet", "oral", "daily", "I10"),
    "atorvastatin": Regimen("83367", "20 mg", "oral", "daily", "E78.5"),
    "simvastatin": Regimen("312961", "1 tablet", "oral", "at bedtime", "E78.5"),
    "albuterol": Regimen(
        "2123111",
        "2 puffs",
        "inhalation",
        "q4h PRN",
        "J45.909",
        quantity=200,
        quantity_unit="puff",
        refills=3,
    ),
    "fluticasone": Regimen(
        "895994", "2 puffs", "inhalation", "BID", "J45.909", quantity=120, quantity_unit="puff"
    ),
    "tiotropium": Regimen("69120", "18 ug", "inhalation", "daily", "J44.9"),
    "carvedilol": Regimen("20352", "6.25 mg", "oral", "BID", "I50.9", quantity=60),
    "furosemide": Regimen("4603", "40 mg", "oral", "daily", "I50.9"),
    "sertraline": Regimen("36437", "50 mg", "oral", "daily", "F32.A"),
    "aspirin": Regimen("1191", "81 mg", "oral", "daily", "I25.10"),
    "clopidogrel": Regimen("309362", "1 tablet", "oral", "daily", "I25.10"),
    "amoxicillin": Regimen(
        "308191", "1 capsule", "oral", "TID", "J02.9", quantity_unit="capsule", refills=0, days=10
    ),
    "azithromycin": Regimen(
        "18631", "250 mg", "oral", "daily", "J02.9", quantity=6, refills=0, days=5
    ),
    "nitrofurantoin": Regimen(
        "7454", "100 mg", "oral", "BID", "N39.0", quantity=10, refills=0, days=5
    ),
}
# Chronic therapy, by condition: (regimen, share of patients with the condition on it).
THERAPY = {
    "t2d": (("metformin", 0.9),),
    "htn": (("lisinopril", 0.7), ("amlodipine", 0.35), ("hydrochlorothiazide", 0.2)),
    "hld": (("atorvastatin", 0.6), ("simvastatin", 0.25)),
    "copd": (("tiotropium", 0.6), ("albuterol", 0.8)),
    "asthma": (("albuterol", 0.9), ("fluticasone", 0.5)),
    "hf": (("carvedilol", 0.8), ("furosemide", 0.7), ("lisinopril", 0.6)),
    "depression": (("sertraline", 0.6),),
    "cad": (("aspirin", 0.8), ("clopidogrel", 0.3), ("atorvastatin", 0.7)),
}
ACUTE_ANTIBIOTIC = {"J02.9": 0.5, "J06.9": 0.15, "N39.0": 0.85, "J18.9": 0.9}


@cache
def lab_tests() -> dict[str, LabTest]:
    return dict(catalog().tests)


def catalog_version() -> str:
    return catalog().version


def _round(values: NDArray[np.floating], digits: int = 0) -> Floats:
    """np.round as float64 (numpy's stubs lose the precision through round)."""
    return np.asarray(np.round(values, digits), dtype=np.float64)


def _flags(code: str, values: Floats) -> NDArray[np.str_]:
    """The abnormal flag `transactional.orders.flags.numeric_flag` gives, vectorised."""
    test = lab_tests()[code]

    def limit(value: Decimal | None, default: float) -> float:
        return float(value) if value is not None else default

    low, high = limit(test.low, -np.inf), limit(test.high, np.inf)
    critical_low, critical_high = (
        limit(test.critical_low, -np.inf),
        limit(test.critical_high, np.inf),
    )
    flags = np.full(len(values), "N" if (test.low is not None or test.high is not None) else "")
    flags = np.where(values > high, "H", flags)
    flags = np.where(values < low, "L", flags)
    flags = np.where(values > critical_high, "HH", flags)
    return np.where(values < critical_low, "LL", flags)


class Charting:
    """Writes one batch of visits of one kind into the simulation's history."""

    def __init__(
        self, sim: "Simulation", state: "State", encounters: Ints, patients: Ints, days: Days
    ) -> None:
        self.sim, self.state = sim, state
        self.rng = sim.rng
        self.history = sim.history
        self.encounters, self.patients, self.days = encounters, patients, days
        self.count = len(encounters)
        self.age = (days - sim.birth_day[patients]) / 365.25
        self.female = sim.people.female[patients]
        # What shapes the labs of these visits; set by the caller for its kind of visit.
        self.infection = np.zeros(self.count, dtype=bool)
        self.hyponatremia = np.zeros(self.count, dtype=bool)
        self.diagnosing_t2d = np.zeros(self.count, dtype=bool)
        self._order_numbers: Ints = np.zeros(0, dtype=np.int64)

    def active(self, condition: str) -> NDArray[np.bool_]:
        result: NDArray[np.bool_] = self.state.onset[condition][self.patients] <= self.days
        return result

    # --- vitals ---------------------------------------------------------------------
    def height_cm(self) -> Floats:
        adult = self.sim.people.height_cm[self.patients]
        years = np.clip(self.age, 0, None)
        child = np.where(
            years < 1, 50 + 25 * years, 75 + (adult - 75) * np.clip((years - 1) / 17, 0, 1) ** 0.9
        )
        return _round(np.where(years >= 18, adult, child), 1)

    def vitals(self, *, full: NDArray[np.bool_], height: NDArray[np.bool_], offset: Ints) -> None:
        rng, state, n = self.rng, self.state, self.count
        sel = np.arange(n)
        age = self.age
        height_cm = self.height_cm()
        bmi = state.bmi[self.patients] + rng.normal(0, 0.35, n)
        weight = np.where(
            age >= 2,
            bmi * (height_cm / 100) ** 2,
            3.4 + 7.0 * np.clip(age, 0, 2) ** 0.8,
        )
        weight = _round(np.clip(weight, 1.0, 300.0), 1)
        htn = self.active("htn")
        uncontrolled = htn & (rng.random(n) < 0.4)
        systolic = np.where(
            age >= 18,
            108
            + 0.45 * np.clip(age - 20, 0, None)
            + 0.5 * (bmi - 25)
            + 6 * htn
            + 18 * uncontrolled,
            90 + 1.2 * np.clip(age, 3, 18),
        ) + rng.normal(0, 9, n)
        crisis = htn & (rng.random(n) < 0.004)
        systolic = _round(np.clip(np.where(crisis, rng.uniform(182, 215, n), systolic), 70, 250))
        diastolic = _round(np.clip(0.58 * systolic + rng.normal(4, 6, n), 40, systolic - 15))
        heart_rate = _round(
            np.clip(np.where(age < 12, 100 - 2.5 * age, 74) + rng.normal(0, 10, n), 40, 190)
        )
        temperature = _round(36.8 + rng.normal(0, 0.3, n), 1)
        respiration = _round(np.clip(np.where(age < 12, 26 - age, 16) + rng.normal(0, 2, n), 8, 50))
        low_oxygen = self.active("copd") | self.active("hf")
        spo2 = _round(np.clip(np.where(low_oxygen, 93.5, 97.5) + rng.normal(0, 1.4, n), 80, 100))
        blood_pressure = age >= 3
        rows = [
            (HEIGHT, height, height_cm),
            (WEIGHT, np.ones(n, dtype=bool), weight),
            (SYSTOLIC, blood_pressure, systolic),
            (DIASTOLIC, blood_pressure, diastolic),
            (HEART_RATE, np.ones(n, dtype=bool), heart_rate),
            (TEMPERATURE, full, temperature),
            (RESPIRATION, full, respiration),
            (SPO2, full | low_oxygen, spo2),
        ]
        for code, mask, values in rows:
            idx = sel[mask]
            self.history.vitals.add(
                encounter=self.encounters[idx],
                patient=self.patients[idx],
                code=np.full(len(idx), code),
                value=values[idx],
                offset=offset[idx],
                derived=np.zeros(len(idx), dtype=bool),
            )
        # BMI is derived, as the service derives it, from this weight and a height recorded
        # within a year (in this visit or before).
        state.last_height_day[self.patients[height]] = self.days[height]
        recent = (self.days - state.last_height_day[self.patients] <= 366) & (age >= 2)
        derived = _round(weight / (height_cm / 100) ** 2, 1)
        idx = sel[recent]
        self.history.vitals.add(
            encounter=self.encounters[idx],
            patient=self.patients[idx],
            code=np.full(len(idx), BMI),
            value=derived[idx],
            offset=offset[idx],
            derived=np.ones(len(idx), dtype=bool),
        )
        # The last BMI recorded so far, per patient (visits of a batch are in any order).
        patients, days, values = self.patients[idx], self.days[idx], derived[idx]
        later = days >= np.where(
            state.last_bmi_day[patients] == NEVER, -1, state.last_bmi_day[patients]
        )
        order = np.lexsort((days, patients))
        for i in order[later[order]]:
            p = patients[i]
            if state.last_bmi_day[p] == NEVER or days[i] >= state.last_bmi_day[p]:
                state.last_bmi_day[p] = days[i]
                state.last_bmi[p] = values[i]

    # --- diagnoses and procedures -----------------------------------------------------
    def diagnoses(self, primary: NDArray[np.str_], primary_onset: Days) -> None:
        """The primary diagnosis, then up to three active chronic conditions."""
        n = self.count
        ranks = np.ones(n, dtype=np.int64)
        self.history.diagnoses.add(
            encounter=self.encounters,
            patient=self.patients,
            code=primary,
            rank=ranks,
            onset_day=primary_onset,
        )
        taken = [primary]
        rank = np.full(n, 2)
        for condition, code in _chronic_codes().items():
            mask = self.active(condition) & (rank <= 4)
            for earlier in taken:
                mask &= earlier != code
            idx = np.flatnonzero(mask)
            self.history.diagnoses.add(
                encounter=self.encounters[idx],
                patient=self.patients[idx],
                code=np.full(len(idx), code),
                rank=rank[idx],
                onset_day=self.state.onset[condition][self.patients[idx]],
            )
            rank[idx] += 1

    def procedure(
        self,
        mask: NDArray[np.bool_],
        system: str,
        codes: NDArray[np.str_],
        offset: Ints,
        units: Ints | None = None,
    ) -> None:
        idx = np.flatnonzero(mask)
        self.history.procedures.add(
            encounter=self.encounters[idx],
            patient=self.patients[idx],
            system=np.full(len(idx), system),
            code=codes[idx] if codes.shape == mask.shape else codes,
            units=units[idx] if units is not None else np.ones(len(idx), dtype=np.int64),
            offset=offset[idx],
        )

    # --- labs ---------------------------------------------------------------------------
    def order(
        self,
        mask: NDArray[np.bool_],
        code: str,
        practitioner: Ints,
        *,
        priority: str,
        offset: Ints,
        turnaround: Ints,
    ) -> Ints:
        """Orders `code` where `mask`; returns the visit rows ordered (index into the batch)."""
        idx = np.flatnonzero(mask)
        first = len(self.history.orders)
        self.history.orders.add(
            encounter=self.encounters[idx],
            patient=self.patients[idx],
            practitioner=practitioner[idx],
            category=np.full(len(idx), "laboratory"),
            code=np.full(len(idx), code),
            priority=np.full(len(idx), priority),
            ordered=offset[idx],
            collected=offset[idx] + 10,
            resulted=offset[idx] + turnaround[idx],
            specimen=np.full(len(idx), "blood" if code == CYP2C19 else "serum"),
        )
        self._order_numbers = np.arange(first, first + len(idx))
        return idx

    def results(self, rows: Ints, code: str, values: Floats) -> None:
        """Numeric results of the orders just placed, flagged against the catalog."""
        orders = self._order_numbers
        test = lab_tests()[code]
        self.history.results.add(
            order=orders,
            patient=self.patients[rows],
            code=np.full(len(rows), code),
            value=values,
            unit=np.full(len(rows), test.unit),
            flag=_flags(code, values),
            answer=np.full(len(rows), ""),
        )

    def labs(
        self,
        practitioner: Ints,
        *,
        want: dict[str, NDArray[np.bool_]],
        priority: str,
        offset: Ints,
        turnaround: Ints,
    ) -> NDArray[np.bool_]:
        rng, state, n = self.rng, self.state, self.count
        drawn = np.zeros(n, dtype=bool)
        t2d, ckd = self.active("t2d"), self.active("ckd")
        if HBA1C in want:
            rows = self.order(
                want[HBA1C],
                HBA1C,
                practitioner,
                priority=priority,
                offset=offset,
                turnaround=turnaround,
            )
            latent = state.a1c[self.patients[rows]]
            diagnosing = self.diagnosing_t2d[rows]
            a1c = np.where(
                diagnosing,
                np.maximum(6.5, latent + 0.6 + np.abs(rng.normal(0, 0.5, len(rows)))),
                latent,
            )
            a1c = _round(np.clip(a1c + rng.normal(0, 0.08, len(rows)), 4.0, 15.0), 1)
            self.results(rows, HBA1C, a1c)
            order = np.lexsort((self.days[rows], self.patients[rows]))
            for i in order:
                p = self.patients[rows][i]
                if state.last_a1c_day[p] == NEVER or self.days[rows][i] >= state.last_a1c_day[p]:
                    state.last_a1c_day[p] = self.days[rows][i]
                    state.last_a1c[p] = a1c[i]
            drawn |= want[HBA1C]
        if BMP in want:
            rows = self.order(
                want[BMP],
                BMP,
                practitioner,
                priority=priority,
                offset=offset,
                turnaround=turnaround,
            )
            self._bmp(rows)
            drawn |= want[BMP]
        if LIPIDS in want:
            rows = self.order(
                want[LIPIDS],
                LIPIDS,
                practitioner,
                priority=priority,
                offset=offset,
                turnaround=turnaround,
            )
            m = len(rows)
            statin = self.active("hld") & (rng.random(n) < 0.85)
            ldl = _round(
                np.clip(
                    state.ldl[self.patients[rows]] * np.where(statin[rows], 0.62, 1.0)
                    + rng.normal(0, 12, m),
                    30,
                    320,
                )
            )
            hdl = _round(
                np.clip(np.where(self.female[rows], 58, 47) + rng.normal(0, 11, m), 20, 110)
            )
            tg = _round(
                np.clip(rng.lognormal(np.log(np.where(t2d[rows], 175, 125)), 0.4, m), 35, 900)
            )
            self.results(rows, "13457-7", ldl)
            self.history.results.add(
                order=self._order_numbers,
                patient=self.patients[rows],
                code=np.full(m, "2085-9"),
                value=hdl,
                unit=np.full(m, "mg/dL"),
                flag=_flags("2085-9", hdl),
                answer=np.full(m, ""),
            )
            self.history.results.add(
                order=self._order_numbers,
                patient=self.patients[rows],
                code=np.full(m, "2571-8"),
                value=tg,
                unit=np.full(m, "mg/dL"),
                flag=_flags("2571-8", tg),
                answer=np.full(m, ""),
            )
            total = _round(ldl + hdl + tg / 5)
            self.history.results.add(
                order=self._order_numbers,
                patient=self.patients[rows],
                code=np.full(m, "2093-3"),
                value=total,
                unit=np.full(m, "mg/dL"),
                flag=_flags("2093-3", total),
                answer=np.full(m, ""),
            )
            drawn |= want[LIPIDS]
        if CBC in want:
            rows = self.order(
                want[CBC],
                CBC,
                practitioner,
                priority=priority,
                offset=offset,
                turnaround=turnaround,
            )
            m = len(rows)
            infection = self.infection[rows]
            wbc = _round(
                np.clip(np.where(infection, 13.5, 7.0) + rng.normal(0, 1.8, m), 1.5, 40), 1
            )
            hgb = np.where(self.female[rows], 13.3, 14.8) - 1.3 * ckd[rows] + rng.normal(0, 1.0, m)
            bleed = rng.random(m) < 0.002
            hgb = _round(np.clip(np.where(bleed, rng.uniform(5.5, 6.9, m), hgb), 4.5, 20), 1)
            plt = _round(np.clip(rng.normal(250, 55, m), 15, 700))
            for code, values in (
                ("6690-2", wbc),
                ("718-7", hgb),
                ("4544-3", _round(hgb * 3.0, 1)),
                ("777-3", plt),
            ):
                self.history.results.add(
                    order=self._order_numbers,
                    patient=self.patients[rows],
                    code=np.full(m, code),
                    value=values,
                    unit=np.full(m, lab_tests()[code].unit),
                    flag=_flags(code, values),
                    answer=np.full(m, ""),
                )
            drawn |= want[CBC]
        if CYP2C19 in want:
            rows = self.order(
                want[CYP2C19],
                CYP2C19,
                practitioner,
                priority="routine",
                offset=offset,
                turnaround=turnaround + 7 * 1440,
            )
            m = len(rows)
            phenotype = state.cyp2c19[self.patients[rows]]
            state.genotyped[self.patients[rows]] = True
            self.history.results.add(
                order=self._order_numbers,
                patient=self.patients[rows],
                code=np.full(m, CYP2C19),
                value=np.full(m, np.nan),
                unit=np.full(m, ""),
                flag=np.full(m, ""),
                answer=np.array(CYP2C19_ANSWERS)[phenotype],
            )
            drawn |= want[CYP2C19]
        return drawn

    def _bmp(self, rows: Ints) -> None:
        rng, state = self.rng, self.state
        m = len(rows)
        p = self.patients[rows]
        age = np.clip(self.age[rows], 18, None)
        female = self.female[rows]
        egfr_true = np.clip(state.egfr[p] + rng.normal(0, 3, m), 5, 150)
        kappa = np.where(female, 0.7, 0.9)
        alpha = np.where(female, -0.241, -0.302)
        factor = 142 * 0.9938**age * np.where(female, 1.012, 1.0)
        # Invert CKD-EPI 2021 (the branch above kappa for most, below for the highest).
        creatinine = np.where(
            egfr_true <= factor,
            kappa * (egfr_true / factor) ** (-1 / 1.2),
            kappa * (egfr_true / factor) ** (1 / alpha),
        )
        creatinine = _round(np.clip(creatinine, 0.3, 12.0), 2)
        ratio = creatinine / kappa
        egfr = _round(factor * np.minimum(ratio, 1) ** alpha * np.maximum(ratio, 1) ** -1.2)
        ckd4 = egfr < 30
        potassium = _round(
            np.clip(
                np.where(ckd4, 5.3, 4.3) + rng.normal(0, np.where(ckd4, 0.6, 0.35), m), 2.2, 8.0
            ),
            1,
        )
        sodium = _round(
            np.clip(
                139 + rng.normal(0, 2.5, m) - np.where(self.hyponatremia[rows], 18, 0), 110, 165
            )
        )
        a1c = state.a1c[p]
        t2d = self.active("t2d")[rows]
        glucose = np.where(t2d, 28.7 * a1c - 46.7, 94) + rng.normal(0, np.where(t2d, 35, 11), m)
        glucose = _round(np.clip(glucose, 35, 900))
        values = {
            "2345-7": glucose,
            "3094-0": _round(
                np.clip(12 + (90 - np.minimum(egfr, 90)) * 0.3 + rng.normal(0, 3, m), 3, 150)
            ),
            "2160-0": creatinine,
            "2951-2": sodium,
            "2823-3": potassium,
            "2075-0": _round(np.clip(103 + rng.normal(0, 3, m), 80, 125)),
            "2028-9": _round(np.clip(25 + rng.normal(0, 2.5, m), 12, 40)),
            "17861-6": _round(np.clip(9.4 + rng.normal(0, 0.4, m), 6.5, 12.5), 1),
            "98979-8": egfr,
        }
        for code, numbers in values.items():
            self.history.results.add(
                order=self._order_numbers,
                patient=p,
                code=np.full(m, code),
                value=numbers,
                unit=np.full(m, lab_tests()[code].unit),
                flag=_flags(code, numbers),
                answer=np.full(m, ""),
            )

    # --- prescriptions ----------------------------------------------------------------
    def prescribe(
        self, mask: NDArray[np.bool_], regimen: str, practitioner: Ints, offset: Ints
    ) -> None:
        idx = np.flatnonzero(mask)
        self.history.prescriptions.add(
            encounter=self.encounters[idx],
            patient=self.patients[idx],
            practitioner=practitioner[idx],
            regimen=np.full(len(idx), regimen),
            offset=offset[idx] + 5,
            day=self.days[idx],
        )


@cache
def _chronic_codes() -> dict[str, str]:
    from transactional.synthetic.history import CHRONIC_CODES

    return dict(CHRONIC_CODES)


def _therapy(chart: Charting, start: NDArray[np.bool_], practitioner: Ints, offset: Ints) -> None:
    """Chronic prescriptions where `start` (a diagnosis visit or the year's first visit):
    each patient keeps the regimens of their own draw, so renewals repeat the same drugs."""
    state = chart.state
    for condition, regimens in THERAPY.items():
        active = chart.active(condition) & start
        for number, (regimen, share) in enumerate(regimens):
            # A stable draw per patient and regimen, so the same patients stay on it.
            stable = _patient_uniform(chart.patients, condition, number)
            mask = active & (stable < share)
            if regimen == "aspirin":
                mask &= ~state.nsaid_allergy[chart.patients]
            chart.prescribe(mask, regimen, practitioner, offset)
    insulin = chart.active("t2d") & start & (state.a1c[chart.patients] > 9.0)
    chart.prescribe(insulin, "insulin_glargine", practitioner, offset)


def _patient_uniform(patients: Ints, condition: str, number: int) -> Floats:
    """A number in [0, 1) fixed per patient, condition and regimen (a hash, not a draw, so it
    does not consume the generator)."""
    salt = sum(ord(c) for c in condition) * 1_000_003 + number * 7_919
    mixed = (patients.astype(np.uint64) * np.uint64(2_654_435_761) + np.uint64(salt)) % np.uint64(
        1_000_003
    )
    result: Floats = mixed.astype(np.float64) / 1_000_003.0
    return result


def _first_of_year(chart: Charting) -> NDArray[np.bool_]:
    order = np.lexsort((chart.days, chart.patients))
    first = np.zeros(chart.count, dtype=bool)
    sorted_patients = chart.patients[order]
    is_first = np.r_[True, sorted_patients[1:] != sorted_patients[:-1]]
    first[order[is_first]] = True
    return first


def chart_office_visits(
    sim: "Simulation",
    state: "State",
    encounters: Ints,
    patients: Ints,
    days: Days,
    kinds: Ints,
    diagnosed: Ints,
    practitioner: Ints,
    begin: int,
) -> None:
    from transactional.synthetic.history import CHECKUP, DIAGNOSIS

    chart = Charting(sim, state, encounters, patients, days)
    rng, n = chart.rng, chart.count
    age = chart.age
    first = _first_of_year(chart)
    checkup, diagnosis = kinds == CHECKUP, kinds == DIAGNOSIS
    sick = (~checkup) & (~diagnosis) & (rng.random(n) < 0.45)
    chart.infection = sick
    chart.hyponatremia = np.zeros(n, dtype=bool)
    chart.diagnosing_t2d = diagnosis & (diagnosed == model.CHRONIC.index("t2d"))
    chart.vitals(full=sick, height=first | (age < 2), offset=np.full(n, 3))

    # Primary diagnosis.
    chronic_names = list(model.CHRONIC)
    codes = _chronic_codes()
    acute = np.array(ACUTE)[rng.integers(0, len(ACUTE), n)]
    any_chronic = np.zeros(n, dtype=bool)
    for condition in chronic_names:
        any_chronic |= chart.active(condition)
    follow = np.full(n, "", dtype=object)
    follow_onset = np.full(n, -1, dtype=np.int64)
    for condition in rng.permutation(chronic_names):
        mask = chart.active(condition) & (follow == "")
        follow[mask] = codes[condition]
        follow_onset[mask] = state.onset[condition][patients[mask]]
    checkup_code = np.where(age < 18, "Z00.129", np.where(any_chronic, "Z00.01", "Z00.00"))
    diagnosed_code = np.array(
        [codes[chronic_names[d]] if d >= 0 else "" for d in diagnosed], dtype=object
    )
    primary = np.where(
        checkup,
        checkup_code,
        np.where(diagnosis, diagnosed_code, np.where((follow != "") & ~sick, follow, acute)),
    ).astype(str)
    onset = np.where(
        diagnosis | ((follow != "") & ~sick & ~checkup),
        np.where(diagnosis, days, follow_onset),
        days,
    )
    onset = np.where(onset < 0, days, onset)
    chart.diagnoses(primary, onset)

    # Procedures (what is billed).
    payer_medicare = age >= 65
    preventive = np.select(
        [age < 1, age < 5, age < 12, age < 18, age < 40, age < 65],
        ["99391", "99392", "99393", "99394", "99395", "99396"],
        "99397",
    )
    wellness = np.where(payer_medicare & (rng.random(n) < 0.7), "G0439", "")
    chart.procedure(checkup & (wellness == ""), CPT, preventive, np.full(n, 20))
    chart.procedure(checkup & (wellness != ""), HCPCS, wellness, np.full(n, 20))
    level = np.array(["99212", "99213", "99214", "99215"])[
        rng.choice(4, n, p=[0.1, 0.5, 0.33, 0.07])
    ]
    level = np.where(diagnosis & (level == "99212"), "99214", level)
    chart.procedure(~checkup, CPT, level, np.full(n, 20))
    ecg = (chart.active("cad") | chart.active("htn")) & (rng.random(n) < 0.05)
    chart.procedure(ecg, CPT, np.full(n, "93000"), np.full(n, 12))
    spirometry = diagnosis & np.isin(
        diagnosed, [chronic_names.index("copd"), chronic_names.index("asthma")]
    )
    chart.procedure(spirometry, CPT, np.full(n, "94010"), np.full(n, 15))

    # Labs.
    t2d, htn, ckd, hld = (chart.active(c) for c in ("t2d", "htn", "ckd", "hld"))
    adult = age >= 18
    bmi = state.bmi[patients]
    half = (days - begin) >= 182
    want = {
        HBA1C: chart.diagnosing_t2d
        | (t2d & (first | (half & (rng.random(n) < 0.5))))
        | (checkup & adult & ~t2d & (age >= 35) & (bmi >= 25) & (rng.random(n) < 0.7))
        | (checkup & state.prediabetes[patients] & ~t2d & (rng.random(n) < 0.8)),
        BMP: first & (htn | ckd | t2d | chart.active("hf")) & (rng.random(n) < 0.85)
        | (ckd & half & (rng.random(n) < 0.5)),
        LIPIDS: first & adult & (hld | ((age >= 40) & checkup)) & (rng.random(n) < 0.75),
        CBC: checkup & adult & (rng.random(n) < 0.2),
        CYP2C19: (
            diagnosis
            & (diagnosed == chronic_names.index("cad"))
            & (rng.random(n) < model.CYP2C19_TEST_SHARE_CAD)
        )
        | (
            first
            & (rng.random(n) < model.CYP2C19_TEST_SHARE / model.HISTORY_YEARS)
            & ~state.genotyped[patients]
        ),
    }
    want[CYP2C19] &= ~state.genotyped[patients]
    drawn = chart.labs(
        practitioner,
        want=want,
        priority="routine",
        offset=np.full(n, 25),
        turnaround=np.full(n, 6 * 60),
    )
    chart.procedure(drawn, CPT, np.full(n, "36415"), np.full(n, 24))

    # Prescriptions: therapy at diagnosis and renewed at the year's first visit; antibiotics.
    _therapy(chart, diagnosis | first, practitioner, np.full(n, 30))
    for code, share in ACUTE_ANTIBIOTIC.items():
        mask = (primary == code) & (rng.random(n) < share)
        if code == "N39.0":
            chart.prescribe(mask, "nitrofurantoin", practitioner, np.full(n, 30))
        else:
            allergic = state.penicillin_allergy[patients]
            chart.prescribe(mask & ~allergic, "amoxicillin", practitioner, np.full(n, 30))
            chart.prescribe(mask & allergic, "azithromycin", practitioner, np.full(n, 30))


ACUTE = ("J06.9", "J02.9", "N39.0", "M54.50", "R05.9", "K21.9", "R10.9", "M25.561", "J20.9")
ED = ("R07.9", "J18.9", "N39.0", "R10.9", "S93.401A", "S06.0X0A", "J20.9", "R50.9", "R06.02")
ADMISSION = ("J18.9", "N39.0", "I21.9", "I63.9", "N17.9", "I48.91", "I26.99", "E87.1", "U07.1")
IMAGED = ("J18.9", "R07.9", "R06.02", "J20.9", "I50.9", "J44.1")
FINDINGS = {
    "J18.9": "Right lower lobe airspace consolidation, consistent with pneumonia. No effusion.",
    "I50.9": "Cardiomegaly with pulmonary vascular congestion and small bilateral effusions.",
    "J44.1": "Hyperinflated lungs with flattened diaphragms. No focal consolidation.",
}
NORMAL_FINDING = "Lungs are clear. Heart size is normal. No acute cardiopulmonary process."


def chart_acute_visits(
    sim: "Simulation",
    state: "State",
    encounters: Ints,
    patients: Ints,
    days: Days,
    start: Ints,
    practitioner: Ints,
    kind: int,
) -> None:
    from transactional.synthetic.history import INPATIENT

    chart = Charting(sim, state, encounters, patients, days)
    rng, n = chart.rng, chart.count
    inpatient = kind == INPATIENT
    heart, lungs = chart.active("hf"), chart.active("copd")
    choices = np.array(ADMISSION if inpatient else ED)
    primary = choices[rng.integers(0, len(choices), n)].astype(object)
    primary = np.where(heart & (rng.random(n) < (0.45 if inpatient else 0.25)), "I50.9", primary)
    primary = np.where(
        lungs & (rng.random(n) < (0.35 if inpatient else 0.25)), "J44.1", primary
    ).astype(str)
    chart.infection = np.isin(primary, ["J18.9", "N39.0", "R50.9", "J20.9", "U07.1"])
    chart.hyponatremia = primary == "E87.1"
    chart.diagnosing_t2d = np.zeros(n, dtype=bool)
    chart.vitals(
        full=np.ones(n, dtype=bool), height=(chart.age < 2) | inpatient, offset=np.full(n, 8)
    )
    chart.diagnoses(primary, days)

    if inpatient:
        discharge = sim.history.encounters.get("discharge_day").astype(np.int64)
        stay = np.maximum(discharge[encounters] - days, 1)
        chart.procedure(
            np.ones(n, dtype=bool),
            CPT,
            np.array(["99222", "99223"])[rng.integers(0, 2, n)],
            np.full(n, 60),
        )
        subsequent = stay - 1
        chart.procedure(
            subsequent > 0,
            CPT,
            np.full(n, "99232"),
            np.full(n, 1440),
            units=np.maximum(subsequent, 1),
        )
        chart.procedure(
            np.ones(n, dtype=bool), CPT, np.where(stay > 3, "99239", "99238"), stay * 1440 - 120
        )
        want = {BMP: np.ones(n, dtype=bool), CBC: np.ones(n, dtype=bool)}
        chart.labs(
            practitioner,
            want=want,
            priority="stat",
            offset=np.full(n, 30),
            turnaround=np.full(n, 90),
        )
        repeat = stay >= 3
        chart.labs(
            practitioner,
            want={BMP: repeat},
            priority="routine",
            offset=np.full(n, 2 * 1440),
            turnaround=np.full(n, 240),
        )
    else:
        level = np.array(["99283", "99284", "99285"])[rng.choice(3, n, p=[0.4, 0.4, 0.2])]
        chart.procedure(np.ones(n, dtype=bool), CPT, level, np.full(n, 30))
        want = {BMP: rng.random(n) < 0.8, CBC: rng.random(n) < 0.7}
        chart.labs(
            practitioner,
            want=want,
            priority="stat",
            offset=np.full(n, 20),
            turnaround=np.full(n, 75),
        )
        imaged = np.isin(primary, IMAGED) & (rng.random(n) < 0.7)
        chart.procedure(imaged, CPT, np.full(n, "71046"), np.full(n, 45))
        idx = np.flatnonzero(imaged)
        first_order = len(sim.history.orders)
        sim.history.orders.add(
            encounter=encounters[idx],
            patient=patients[idx],
            practitioner=practitioner[idx],
            category=np.full(len(idx), "imaging"),
            code=np.full(len(idx), CHEST_XRAY),
            priority=np.full(len(idx), "stat"),
            ordered=np.full(len(idx), 15),
            collected=np.full(len(idx), -1),
            resulted=np.full(len(idx), 80),
            specimen=np.full(len(idx), ""),
        )
        sim.history.reports.add(
            order=np.arange(first_order, first_order + len(idx)),
            text=np.array([FINDINGS.get(code, NORMAL_FINDING) for code in primary[idx]]),
        )
    for code, share in ACUTE_ANTIBIOTIC.items():
        mask = (primary == code) & (rng.random(n) < share)
        allergic = state.penicillin_allergy[patients]
        if code == "N39.0":
            chart.prescribe(mask, "nitrofurantoin", practitioner, np.full(n, 60))
        else:
            chart.prescribe(mask & ~allergic, "amoxicillin", practitioner, np.full(n, 60))
            chart.prescribe(mask & allergic, "azithromycin", practitioner, np.full(n, 60))
