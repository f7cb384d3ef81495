"""Five years of care, year by year: conditions, coverage, visits, vitals, diagnoses,
procedures, labs, prescriptions, admissions and readmissions.

The result is a `History` of plain arrays, one entry per row, where other rows are referred to
by their index (patient 17, encounter 4,052); `tables.py` gives them ids and table columns.
The order of the simulation matters for the documented outcomes (model.py): a year's incident
type 2 diabetes reads the BMI and HbA1c recorded before it, and each discharge's readmission is
drawn from what the chart holds on the day of its admission.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from numpy.typing import NDArray

from transactional.synthetic import model
from transactional.synthetic.clinic import SLOTS_PER_DAY, Clinic
from transactional.synthetic.people import People, covariates
from transactional.synthetic.timeline import (
    DAY,
    NEVER,
    Days,
    business_days,
    day_number,
    uniform_days,
)

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]

# Encounter kinds.
CHECKUP, PROBLEM, DIAGNOSIS, FOLLOW_UP, EMERGENCY, INPATIENT = range(6)
AMBULATORY_KINDS = (CHECKUP, PROBLEM, DIAGNOSIS, FOLLOW_UP)

# Condition codes (ICD-10-CM, all billable; checked against the shipped subset by a test).
CHRONIC_CODES = {
    "t2d": "E11.9",
    "htn": "I10",
    "hld": "E78.5",
    "ckd": "N18.31",
    "copd": "J44.9",
    "asthma": "J45.909",
    "hf": "I50.9",
    "depression": "F32.A",
    "cad": "I25.10",
}
DISPOSITIONS = ("home", "home_health", "skilled_nursing_facility", "rehabilitation_facility")
DISPOSITION_SHARES = (0.70, 0.15, 0.12, 0.03)
SNF = 2


@dataclass
class Rows:
    """Columns of one kind of row, grown by appending arrays."""

    columns: dict[str, list[NDArray[np.generic]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, **columns: NDArray[np.generic] | list[object]) -> None:
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise ValueError(f"columns of different lengths: {lengths}")
        for name, values in columns.items():
            self.columns[name].append(np.asarray(values))

    def get(self, name: str) -> NDArray[np.generic]:
        parts = self.columns.get(name, [])
        return np.concatenate(parts) if parts else np.array([])

    def __len__(self) -> int:
        first = next(iter(self.columns.values()), [])
        return sum(len(part) for part in first)


@dataclass
class History:
    as_of: date
    start: date
    patients: int
    encounters: Rows = field(default_factory=Rows)
    appointments: Rows = field(default_factory=Rows)
    diagnoses: Rows = field(default_factory=Rows)
    problems: Rows = field(default_factory=Rows)
    vitals: Rows = field(default_factory=Rows)
    procedures: Rows = field(default_factory=Rows)
    orders: Rows = field(default_factory=Rows)
    results: Rows = field(default_factory=Rows)
    prescriptions: Rows = field(default_factory=Rows)
    allergies: Rows = field(default_factory=Rows)
    coverages: Rows = field(default_factory=Rows)
    reports: Rows = field(default_factory=Rows)
    # Outcome draws with their true probabilities, for the achievable-AUROC report.
    t2d_cohort: Rows = field(default_factory=Rows)
    readmission_cohort: Rows = field(default_factory=Rows)


@dataclass
class State:
    """What the simulation knows of each patient as time goes by."""

    onset: dict[str, Days]
    prediabetes: NDArray[np.bool_]
    bmi: Floats
    a1c: Floats
    egfr: Floats
    ldl: Floats
    last_bmi: Floats
    last_bmi_day: Days
    last_a1c: Floats
    last_a1c_day: Days
    last_height_day: Days
    genotyped: NDArray[np.bool_]
    cyp2c19: NDArray[np.int64]
    pcp: Ints
    penicillin_allergy: NDArray[np.bool_]
    nsaid_allergy: NDArray[np.bool_]


class Simulation:
    def __init__(
        self, rng: np.random.Generator, people: People, clinic: Clinic, *, as_of: date
    ) -> None:
        self.rng = rng
        self.people = people
        self.clinic = clinic
        self.n = len(people)
        self.start = date(as_of.year - model.HISTORY_YEARS, 1, 1)
        self.start_day = day_number(self.start)
        self.end_day = day_number(as_of)  # exclusive: history stops before the as-of day
        self.history = History(as_of=as_of, start=self.start, patients=self.n)
        self.birth_day = people.birth_date.astype("datetime64[D]").astype(np.int64)
        roles = clinic.practitioners["role"].to_numpy()
        self.by_role = {role: np.flatnonzero(roles == role) for role in set(roles)}
        kinds = clinic.locations["kind"].to_numpy()
        self.location_of_kind = {kind: int(np.flatnonzero(kinds == kind)[0]) for kind in kinds}
        locations = clinic.locations["id"].to_list()
        homes = clinic.practitioners["location_id"].to_list()
        self.practitioner_location = np.array(
            [locations.index(home) if home is not None else -1 for home in homes]
        )
        self.ed_days: dict[int, list[int]] = defaultdict(list)
        self.discharge_days: dict[int, list[int]] = defaultdict(list)
        self.pending_admissions: list[tuple[int, int]] = []  # (patient, admission day)

    # --- set-up -----------------------------------------------------------------------
    def initial_state(self) -> State:
        rng, p, n = self.rng, self.people, self.n
        start = np.datetime64(self.start, "D")
        cov = covariates(p, on=start, bmi=p.bmi_baseline)
        has: dict[str, Floats] = {}
        onset: dict[str, Days] = {}
        logits = model.prevalence_logits(cov, has)
        for condition in model.CHRONIC:
            logits = model.prevalence_logits(cov, has)
            eligible = cov.age >= (18 if condition in model.ADULT_ONLY else 2)
            drawn = eligible & (rng.random(n) < model.sigmoid(logits[condition]))
            has[condition] = drawn.astype(float)
            earliest = self.birth_day + (18 if condition in model.ADULT_ONLY else 2) * 365
            days_before = rng.integers(30, 3650, size=n)
            onset[condition] = np.where(
                drawn, np.maximum(self.start_day - days_before, earliest), NEVER
            )
        prediabetes = (
            (cov.age >= 18)
            & (has["t2d"] == 0)
            & (rng.random(n) < model.sigmoid(-3.5 + 0.04 * cov.age + 0.08 * (cov.bmi - 27)))
        )
        a1c = np.where(
            has["t2d"] == 1,
            np.clip(rng.normal(7.4, 1.1, n), 5.9, 13.0),
            5.15
            + 0.012 * np.clip(cov.age - 40, 0, None)
            + 0.015 * (cov.bmi - 27)
            + 0.65 * prediabetes
            + rng.normal(0, 0.18, n),
        )
        egfr = np.where(
            has["ckd"] == 1,
            rng.uniform(22, 58, n),
            np.clip(118 - 0.85 * np.clip(cov.age - 25, 0, None) + rng.normal(0, 10, n), 62, 140),
        )
        ldl = rng.normal(112, 28, n) + 38 * has["hld"]
        asian = p.race == "Asian"
        phenotype = np.empty(n, dtype=np.int64)
        for group, mask in (("asian", asian), ("other", ~asian)):
            shares = np.array(model.CYP2C19_SHARES[group])
            phenotype[mask] = rng.choice(len(shares), size=int(mask.sum()), p=shares / shares.sum())
        adult = p.age_on(np.datetime64(self.history.as_of, "D")) >= 18
        pcp_pool = np.where(adult, 0, 1)
        primary, pediatric = self.by_role["primary_care"], self.by_role["pediatrics"]
        pcp = np.where(
            pcp_pool == 0,
            primary[rng.integers(0, len(primary), n)],
            pediatric[rng.integers(0, len(pediatric), n)],
        )
        return State(
            onset=onset,
            prediabetes=prediabetes,
            bmi=p.bmi_baseline.copy(),
            a1c=a1c,
            egfr=egfr,
            ldl=ldl,
            last_bmi=np.full(n, np.nan),
            last_bmi_day=np.full(n, NEVER),
            last_a1c=np.full(n, np.nan),
            last_a1c_day=np.full(n, NEVER),
            last_height_day=np.full(n, NEVER),
            genotyped=np.zeros(n, dtype=bool),
            cyp2c19=phenotype,
            pcp=pcp,
            penicillin_allergy=rng.random(n) < 0.08,
            nsaid_allergy=rng.random(n) < 0.02,
        )

    # --- the run ----------------------------------------------------------------------
    def run(self) -> History:
        state = self.initial_state()
        self._coverage()
        self._allergies(state)
        year = self.start.year
        while day_number(date(year, 1, 1)) < self.end_day:
            begin = max(day_number(date(year, 1, 1)), self.start_day)
            end = min(day_number(date(year + 1, 1, 1)), self.end_day)
            self._year(state, year, begin, end)
            year += 1
        self._problem_list(state)
        self._future_appointments(state)
        return self.history

    def _year(self, state: State, year: int, begin: int, end: int) -> None:
        rng, n = self.rng, self.n
        alive_from = np.maximum(self.birth_day, begin)
        exposed = np.clip((end - alive_from) / 365.0, 0, 1)
        present = exposed > 0
        cov = covariates(self.people, on=np.datetime64(begin, "D"), bmi=state.bmi)
        has_now = {c: (state.onset[c] < begin).astype(float) for c in model.CHRONIC}
        incident: dict[str, Days] = {}
        if year > self.start.year:
            incident["t2d"] = self._incident_t2d(state, cov, begin, end, present)
        logits = model.prevalence_logits(cov, has_now)
        for condition in model.CHRONIC:
            if condition == "t2d":
                continue
            adult = cov.age >= (18 if condition in model.ADULT_ONLY else 2)
            at_risk = present & adult & (state.onset[condition] >= begin)
            p = model.sigmoid(logits[condition] + model.INCIDENCE_SHIFT) * exposed
            drawn = at_risk & (rng.random(n) < p)
            incident[condition] = np.where(
                drawn, uniform_days(rng, alive_from, np.full(n, end)), NEVER
            )
        for condition, days in incident.items():
            state.onset[condition] = np.minimum(state.onset[condition], days)
        chronic_count = np.sum([state.onset[c] < end for c in model.CHRONIC], axis=0).astype(float)

        # Emergency visits and admissions first: they do not depend on office visits.
        medicaid = self._medicaid(np.arange(n), np.full(n, begin)).astype(float)
        ed_count = rng.poisson(model.ed_rate(cov.age, chronic_count, medicaid) * exposed)
        ed_patients = np.repeat(np.arange(n), ed_count)
        ed_days = uniform_days(rng, alive_from[ed_patients], np.full(len(ed_patients), end))
        for patient, day in zip(ed_patients.tolist(), ed_days.tolist(), strict=True):
            self.ed_days[patient].append(day)
        has_end = {c: (state.onset[c] < end).astype(float) for c in model.CHRONIC}
        admit_count = rng.poisson(model.admission_rate(cov.age, has_end) * exposed)
        admit_patients = np.repeat(np.arange(n), admit_count)
        admit_days = uniform_days(
            rng, alive_from[admit_patients], np.full(len(admit_patients), end)
        )
        stays = self._admissions(state, admit_patients, admit_days, end)

        # Office visits: yearly check-ups, problem visits, a visit for each new diagnosis,
        # and follow-up after a discharge.
        checkup = present & (rng.random(n) < model.CHECKUP_SHARE * exposed)
        problem_count = rng.poisson(model.office_visit_rate(cov.age, chronic_count) * exposed)
        visits: list[tuple[Ints, Days, Ints, Ints]] = []  # patients, days, kinds, condition
        idx = np.flatnonzero(checkup)
        visits.append(
            (
                idx,
                uniform_days(rng, alive_from[idx], np.full(len(idx), end)),
                np.full(len(idx), CHECKUP),
                np.full(len(idx), -1),
            )
        )
        idx = np.repeat(np.arange(n), problem_count)
        visits.append(
            (
                idx,
                uniform_days(rng, alive_from[idx], np.full(len(idx), end)),
                np.full(len(idx), PROBLEM),
                np.full(len(idx), -1),
            )
        )
        for number, condition in enumerate(model.CHRONIC):
            if condition not in incident:
                continue
            onset = incident[condition]
            idx = np.flatnonzero(onset < NEVER)
            visits.append(
                (idx, onset[idx], np.full(len(idx), DIAGNOSIS), np.full(len(idx), number))
            )
        if stays:
            stay_patients = np.array([s[0] for s in stays], dtype=np.int64)
            follow_days = np.array([s[2] for s in stays], dtype=np.int64) + rng.integers(
                5, 15, len(stays)
            )
            keep = (rng.random(len(stays)) < 0.6) & (follow_days < end)
            visits.append(
                (
                    stay_patients[keep],
                    follow_days[keep],
                    np.full(int(keep.sum()), FOLLOW_UP),
                    np.full(int(keep.sum()), -1),
                )
            )
        patients = np.concatenate([v[0] for v in visits]).astype(np.int64)
        days = business_days(np.concatenate([v[1] for v in visits]).astype(np.int64))
        kinds = np.concatenate([v[2] for v in visits]).astype(np.int64)
        diagnosed = np.concatenate([v[3] for v in visits]).astype(np.int64)
        inside = (days >= np.maximum(self.birth_day[patients], begin)) & (days < end)
        patients, days, kinds, diagnosed = (a[inside] for a in (patients, days, kinds, diagnosed))
        self._office_visits(state, patients, days, kinds, diagnosed, begin, end)
        self._emergency_visits(state, ed_patients, ed_days)
        self._inpatient_stays(state, stays)
        self._drift(state, exposed)

    # --- outcomes ---------------------------------------------------------------------
    def _incident_t2d(
        self, state: State, cov: model.Person, begin: int, end: int, present: NDArray[np.bool_]
    ) -> Days:
        at_risk = present & (cov.age >= 18) & (state.onset["t2d"] >= begin)
        recent_a1c = state.last_a1c_day >= begin - 3 * 365
        features = model.t2d_features(
            age=cov.age,
            male=cov.male,
            bmi=state.last_bmi,
            a1c=np.where(recent_a1c, state.last_a1c, np.nan),
            hypertension=(state.onset["htn"] < begin).astype(float),
            hyperlipidemia=(state.onset["hld"] < begin).astype(float),
            black=cov.black,
            hispanic=cov.hispanic,
            asian=cov.asian,
        )
        probability = model.t2d_probability(features)
        # A partial year draws for its part of the year.
        probability = probability * min(1.0, (end - begin) / 365.0)
        event = at_risk & (self.rng.random(self.n) < probability)
        complete_year = end - begin >= 365
        cohort = np.flatnonzero(at_risk)
        self.history.t2d_cohort.add(
            patient=cohort,
            index_day=np.full(len(cohort), begin),
            probability=probability[cohort],
            outcome=event[cohort],
            complete=np.full(len(cohort), complete_year),
        )
        return np.where(
            event, uniform_days(self.rng, np.full(self.n, begin), np.full(self.n, end)), NEVER
        )

    def _admissions(
        self, state: State, patients: Ints, days: Days, end: int
    ) -> list[tuple[int, int, int, int, int, float]]:
        """Stays of this year, readmissions included, decided in time order per patient.

        Returns (patient, admission day, discharge day, disposition, readmitted, probability).
        """
        rng = self.rng
        queue: dict[int, list[int]] = defaultdict(list)
        carried = [(p, d) for p, d in self.pending_admissions if d < end]
        self.pending_admissions = [(p, d) for p, d in self.pending_admissions if d >= end]
        for patient, day in [*zip(patients.tolist(), days.tolist(), strict=True), *carried]:
            queue[patient].append(day)
        stays = []
        for patient in sorted(queue):
            pending = sorted(queue[patient])
            while pending:
                admit = pending.pop(0)
                if self.discharge_days[patient] and admit <= self.discharge_days[patient][-1]:
                    continue  # still in hospital from a previous stay
                los = int(
                    min(1 + rng.poisson(2.5 + 1.5 * (state.onset["hf"][patient] < admit)), 30)
                )
                discharge = admit + los
                if discharge >= self.end_day:
                    continue  # would still be in hospital on the as-of day
                disposition = int(rng.choice(len(DISPOSITIONS), p=DISPOSITION_SHARES))
                age = (admit - self.birth_day[patient]) / 365.25
                features = {
                    "age_minus_65": np.array([age - 65.0]),
                    "heart_failure": np.array([float(state.onset["hf"][patient] < admit)]),
                    "copd": np.array([float(state.onset["copd"][patient] < admit)]),
                    "ckd": np.array([float(state.onset["ckd"][patient] < admit)]),
                    "t2d": np.array([float(state.onset["t2d"][patient] < admit)]),
                    "depression": np.array([float(state.onset["depression"][patient] < admit)]),
                    "prior_admissions_365d": np.array(
                        [float(sum(admit - 365 <= d < admit for d in self.discharge_days[patient]))]
                    ),
                    "ed_visits_180d": np.array(
                        [float(sum(admit - 180 <= d < admit for d in self.ed_days[patient]))]
                    ),
                    "length_of_stay_days": np.array([float(los)]),
                    "medicaid": self._medicaid(np.array([patient]), np.array([admit])).astype(
                        float
                    ),
                    "discharged_to_snf": np.array([float(disposition == SNF)]),
                }
                probability = float(model.readmission_probability(features)[0])
                readmitted = rng.random() < probability
                self.discharge_days[patient].append(discharge)
                complete = discharge + 30 < self.end_day
                stays.append((patient, admit, discharge, disposition, int(readmitted), probability))
                self.history.readmission_cohort.add(
                    patient=[patient],
                    admission_day=[admit],
                    discharge_day=[discharge],
                    probability=[probability],
                    outcome=[readmitted and complete],
                    complete=[complete],
                )
                if readmitted:
                    gap = int(min(1 + rng.geometric(0.12), 30))
                    again = discharge + gap
                    if again >= self.end_day:
                        continue
                    if again < end:
                        pending.append(again)
                        pending.sort()
                    else:
                        self.pending_admissions.append((patient, again))
        return stays

    def _primary_payer(self, patients: Ints, days: Days) -> Ints:
        """The primary payer (index into the clinic's payers) of each patient on each day, or
        -1 before their first coverage."""
        keys = patients.astype(np.int64) * (1 << 32) + days
        found = np.searchsorted(self.coverage_keys, keys, side="right") - 1
        valid = (found >= 0) & (self.coverage_patient[np.maximum(found, 0)] == patients)
        result: Ints = np.where(valid, self.coverage_payer[np.maximum(found, 0)], -1)
        return result

    def _medicaid(self, patients: Ints, days: Days) -> NDArray[np.bool_]:
        payer = self._primary_payer(patients, days)
        result: NDArray[np.bool_] = (payer >= 0) & (payer == self.medicaid_payer)
        return result

    # --- coverage, allergies, problem list --------------------------------------------
    def _coverage(self) -> None:
        """Primary coverage by year; Medicare from the month of the 65th birthday; payer
        switches; Medicare patients may hold a commercial secondary."""
        rng, n = self.rng, self.n
        payers = self.clinic.payers
        types = payers["payer_type"].to_numpy()
        under65 = np.array([p[2] for p in model.PAYERS])
        medicare = int(np.flatnonzero(types == "medicare")[0])
        commercial = np.flatnonzero(types == "commercial")
        current = rng.choice(len(under65), size=n, p=under65 / under65.sum())
        rows_p, rows_start, rows_payer = [], [], []
        year = self.start.year
        first = np.maximum(self.birth_day, self.start_day)
        while day_number(date(year, 1, 1)) < self.end_day:
            begin = day_number(date(year, 1, 1))
            switch = rng.random(n) < model.PAYER_SWITCH_SHARE
            if year > self.start.year:
                current = np.where(
                    switch, rng.choice(len(under65), size=n, p=under65 / under65.sum()), current
                )
            sixty_five = self.birth_day + int(65 * 365.25)
            payer_now = np.where(sixty_five <= begin, medicare, current)
            alive = np.flatnonzero(first < day_number(date(year + 1, 1, 1)))
            rows_p.append(alive)
            rows_start.append(np.maximum(first[alive], begin))
            rows_payer.append(payer_now[alive])
            turning = (sixty_five > begin) & (sixty_five < day_number(date(year + 1, 1, 1)))
            idx = np.flatnonzero(turning)
            rows_p.append(idx)
            rows_start.append(np.maximum(sixty_five[idx], first[idx]))
            rows_payer.append(np.full(len(idx), medicare))
            year += 1
        p = np.concatenate(rows_p)
        start = np.concatenate(rows_start)
        payer = np.concatenate(rows_payer)
        order = np.lexsort((start, p))
        p, start, payer = p[order], start[order], payer[order]
        born = start < self.end_day
        p, start, payer = p[born], start[born], payer[born]
        new_segment = np.ones(len(p), dtype=bool)
        new_segment[1:] = (p[1:] != p[:-1]) | (payer[1:] != payer[:-1])
        p, start, payer = p[new_segment], start[new_segment], payer[new_segment]
        last = np.ones(len(p), dtype=bool)
        last[:-1] = p[1:] != p[:-1]
        end = np.where(last, NEVER, np.roll(start, -1) - 1)
        # Sorted by (patient, start): a day's coverage is found with one binary search.
        self.coverage_keys = p.astype(np.int64) * (1 << 32) + start
        self.coverage_patient, self.coverage_payer = p, payer
        self.medicaid_payer = int(np.flatnonzero(types == "medicaid")[0])
        self.history.coverages.add(
            patient=p,
            payer=payer,
            start_day=start,
            end_day=end,
            priority=np.ones(len(p), dtype=np.int64),
        )
        medigap = (payer == medicare) & (rng.random(len(p)) < model.MEDIGAP_SHARE)
        idx = np.flatnonzero(medigap)
        self.history.coverages.add(
            patient=p[idx],
            payer=commercial[rng.integers(0, len(commercial), len(idx))],
            start_day=start[idx],
            end_day=end[idx],
            priority=np.full(len(idx), 2, dtype=np.int64),
        )

    def _allergies(self, state: State) -> None:
        rng, n = self.rng, self.n
        onset = np.maximum(self.birth_day + 365, self.start_day - rng.integers(100, 5000, n))
        for mask, kind in (
            (state.penicillin_allergy, "penicillin"),
            (state.nsaid_allergy, "aspirin"),
            (rng.random(n) < 0.03, "sulfonamide"),
            (rng.random(n) < 0.02, "peanut"),
            (rng.random(n) < 0.02, "latex"),
        ):
            idx = np.flatnonzero(mask & (self.birth_day + 365 < self.end_day))
            self.history.allergies.add(
                patient=idx,
                kind=np.full(len(idx), kind),
                severity=np.array(["mild", "moderate", "severe"])[
                    rng.choice(3, len(idx), p=[0.45, 0.4, 0.15])
                ],
                onset_day=onset[idx],
            )

    def _problem_list(self, state: State) -> None:
        for condition in model.CHRONIC:
            idx = np.flatnonzero(state.onset[condition] < self.end_day)
            self.history.problems.add(
                patient=idx,
                code=np.full(len(idx), CHRONIC_CODES[condition]),
                onset_day=state.onset[condition][idx],
            )
        idx = np.flatnonzero(state.prediabetes & (state.onset["t2d"] >= self.end_day))
        self.history.problems.add(
            patient=idx,
            code=np.full(len(idx), "R73.03"),
            onset_day=np.full(len(idx), self.start_day),
        )

    # --- encounters -------------------------------------------------------------------
    def _book(
        self, practitioners: Ints, days: Days, rng: np.random.Generator, end: int
    ) -> tuple[Days, Ints]:
        """A free slot for each visit: ranks within (practitioner, day); an overfull day
        spills to the next business day, or back to an earlier one at `end`, so one call's
        bookings never meet another's."""
        days = days.copy()
        key = practitioners * 100_000 + days
        order = np.lexsort((rng.random(len(days)), key))
        sorted_key = key[order]
        starts = np.r_[0, np.flatnonzero(sorted_key[1:] != sorted_key[:-1]) + 1]
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        slot = np.empty(len(days), dtype=np.int64)
        slot[order] = rank
        # The rare overfull day: move its extra visits one by one to the nearest day with room.
        filled = dict(zip(*np.unique(key, return_counts=True), strict=True))
        for i in np.flatnonzero(slot >= SLOTS_PER_DAY).tolist():
            filled[int(key[i])] -= 1
            day, step = int(days[i]), 1
            while True:
                candidate = int(business_days(np.array([day + step]))[0])
                if candidate >= end:
                    step = -abs(step) - 1
                    continue
                taken = filled.get(int(practitioners[i]) * 100_000 + candidate, 0)
                if taken < SLOTS_PER_DAY:
                    break
                step = step + 1 if step > 0 else step - 1
            days[i] = candidate
            slot[i] = taken
            filled[int(practitioners[i]) * 100_000 + candidate] = taken + 1
        # Spread the day's bookings over its slots rather than filling the morning.
        scatter = rng.permutation(SLOTS_PER_DAY)
        return days, scatter[slot]

    def _office_visits(
        self,
        state: State,
        patients: Ints,
        days: Days,
        kinds: Ints,
        diagnosed: Ints,
        begin: int,
        end: int,
    ) -> None:
        rng = self.rng
        if not len(patients):
            return
        practitioner = state.pcp[patients].copy()
        cardiology = self.by_role["cardiology"]
        heart = (state.onset["cad"][patients] < days) | (state.onset["hf"][patients] < days)
        to_cardio = heart & (kinds == PROBLEM) & (rng.random(len(patients)) < 0.3)
        practitioner[to_cardio] = cardiology[rng.integers(0, len(cardiology), int(to_cardio.sum()))]
        days, slots = self._book(practitioner, days, rng, end)
        keep = days < self.end_day
        patients, days, kinds, diagnosed, practitioner, slots = (
            a[keep] for a in (patients, days, kinds, diagnosed, practitioner, slots)
        )
        # A diagnosis dates from the visit that made it, wherever booking put that visit.
        for number, condition in enumerate(model.CHRONIC):
            chosen = diagnosed == number
            state.onset[condition][patients[chosen]] = days[chosen]
        location = self.practitioner_location[practitioner]
        count = len(patients)
        first_index = len(self.history.encounters)
        minutes = rng.integers(15, 40, count)
        self.history.encounters.add(
            patient=patients,
            kind=kinds,
            practitioner=practitioner,
            location=location,
            day=days,
            slot=slots,
            start=np.zeros(count, dtype=np.int64),  # wall-clock slots become UTC in tables.py
            minutes=minutes,
            admit_day=np.full(count, -1),
            discharge_day=np.full(count, -1),
            disposition=np.full(count, -1),
            diagnosed=diagnosed,
        )
        encounters = np.arange(first_index, first_index + count)
        # An appointment for each visit, and some that did not happen.
        self.history.appointments.add(
            patient=patients,
            practitioner=practitioner,
            location=location,
            day=days,
            slot=slots,
            status=np.full(count, "completed"),
            encounter=encounters,
            kind=kinds,
        )
        failed = rng.random(count) < (model.NO_SHOW_SHARE + model.CANCEL_SHARE)
        idx = np.flatnonzero(failed)
        earlier = business_days(days[idx] - rng.integers(7, 22, len(idx)))
        ok = earlier >= np.maximum(self.birth_day[patients[idx]], self.start_day)
        idx, earlier = idx[ok], earlier[ok]
        no_show = rng.random(len(idx)) < model.NO_SHOW_SHARE / (
            model.NO_SHOW_SHARE + model.CANCEL_SHARE
        )
        self.history.appointments.add(
            patient=patients[idx],
            practitioner=practitioner[idx],
            location=location[idx],
            day=earlier,
            slot=rng.integers(0, SLOTS_PER_DAY, len(idx)),
            status=np.where(no_show, "no_show", "cancelled"),
            encounter=np.full(len(idx), -1),
            kind=kinds[idx],
        )
        self._chart_office(state, encounters, patients, days, kinds, diagnosed, practitioner, begin)

    def _emergency_visits(self, state: State, patients: Ints, days: Days) -> None:
        rng = self.rng
        keep = days < self.end_day
        patients, days = patients[keep], days[keep]
        count = len(patients)
        if not count:
            return
        ed = self.by_role["emergency"]
        practitioner = ed[rng.integers(0, len(ed), count)]
        start = days * DAY + rng.integers(0, DAY, count)
        first_index = len(self.history.encounters)
        self.history.encounters.add(
            patient=patients,
            kind=np.full(count, EMERGENCY),
            practitioner=practitioner,
            location=np.full(count, self.location_of_kind["emergency"]),
            day=days,
            slot=np.full(count, -1),
            start=start,
            minutes=rng.integers(90, 480, count),
            admit_day=np.full(count, -1),
            discharge_day=np.full(count, -1),
            disposition=np.full(count, -1),
            diagnosed=np.full(count, -1),
        )
        encounters = np.arange(first_index, first_index + count)
        self._chart_acute(state, encounters, patients, days, start, practitioner, EMERGENCY)

    def _inpatient_stays(
        self, state: State, stays: list[tuple[int, int, int, int, int, float]]
    ) -> None:
        rng = self.rng
        if not stays:
            return
        patients = np.array([s[0] for s in stays], dtype=np.int64)
        admit = np.array([s[1] for s in stays], dtype=np.int64)
        discharge = np.array([s[2] for s in stays], dtype=np.int64)
        disposition = np.array([s[3] for s in stays], dtype=np.int64)
        count = len(stays)
        hospitalists = self.by_role["hospitalist"]
        practitioner = hospitalists[rng.integers(0, len(hospitalists), count)]
        start = admit * DAY + rng.integers(0, DAY, count)
        first_index = len(self.history.encounters)
        self.history.encounters.add(
            patient=patients,
            kind=np.full(count, INPATIENT),
            practitioner=practitioner,
            location=np.full(count, self.location_of_kind["inpatient"]),
            day=admit,
            slot=np.full(count, -1),
            start=start,
            minutes=(discharge - admit) * 1440 + rng.integers(-300, 300, count),
            admit_day=admit,
            discharge_day=discharge,
            disposition=disposition,
            diagnosed=np.full(count, -1),
        )
        encounters = np.arange(first_index, first_index + count)
        self._chart_acute(state, encounters, patients, admit, start, practitioner, INPATIENT)

    def _future_appointments(self, state: State) -> None:
        """Bookings from the as-of day on: today's clinic and the coming weeks."""
        rng = self.rng
        chronic = np.sum([state.onset[c] < self.end_day for c in model.CHRONIC], axis=0)
        wanted = (self.birth_day < self.end_day) & (
            rng.random(self.n) < 0.04 + 0.05 * np.minimum(chronic, 3)
        )
        patients = np.flatnonzero(wanted)
        days = business_days(
            self.end_day + rng.integers(0, model.FOLLOW_UP_DAYS_AFTER_AS_OF, len(patients))
        )
        days = np.maximum(days, self.end_day)
        practitioner = state.pcp[patients]
        days, slots = self._book(practitioner, days, rng, self.end_day + 366)
        confirmed = rng.random(len(patients)) < 0.5
        self.history.appointments.add(
            patient=patients,
            practitioner=practitioner,
            location=self.practitioner_location[practitioner],
            day=days,
            slot=slots,
            status=np.where(confirmed, "confirmed", "scheduled"),
            encounter=np.full(len(patients), -1),
            kind=np.full(len(patients), FOLLOW_UP),
        )

    # --- the chart of a visit -----------------------------------------------------------
    def _chart_office(
        self,
        state: State,
        encounters: Ints,
        patients: Ints,
        days: Days,
        kinds: Ints,
        diagnosed: Ints,
        practitioner: Ints,
        begin: int,
    ) -> None:
        from transactional.synthetic.charting import chart_office_visits

        chart_office_visits(
            self, state, encounters, patients, days, kinds, diagnosed, practitioner, begin
        )

    def _chart_acute(
        self,
        state: State,
        encounters: Ints,
        patients: Ints,
        days: Days,
        start: Ints,
        practitioner: Ints,
        kind: int,
    ) -> None:
        from transactional.synthetic.charting import chart_acute_visits

        chart_acute_visits(self, state, encounters, patients, days, start, practitioner, kind)

    def _drift(self, state: State, exposed: Floats) -> None:
        rng, n = self.rng, self.n
        adult = self.people.age_on(np.datetime64(self.end_day, "D")) >= 20
        state.bmi = np.clip(
            state.bmi
            + np.where(adult, rng.normal(0.12, 0.6, n), rng.normal(0.4, 0.5, n)) * exposed,
            13.0,
            70.0,
        )
        state.a1c = state.a1c + (0.02 + rng.normal(0, 0.06, n)) * exposed
        state.egfr = np.clip(
            state.egfr - (1.0 + 2.0 * (state.onset["ckd"] < NEVER)) * exposed, 8, 140
        )
