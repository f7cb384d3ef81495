"""Frames read in buckets judge exactly as a frame read whole, and absent values are caught
even where ClickHouse stores a default instead of NULL."""

import uuid

from pipelines.quality import raw_plan
from pipelines.replication_assets import raw_key
from tests.quality.conftest import Checked, plant, tenant_rows, with_value
from warehouse.quality import Outcome, run_frames


def _failed(outcomes: list[Outcome]) -> dict[str, tuple[int, set[str]]]:
    return {o.expectation: (o.failing_rows, set(o.failing_keys)) for o in outcomes if not o.passed}


def test_a_key_repeated_under_another_tenant_is_caught_whole_or_in_buckets(
    checked: Checked,
) -> None:
    patients = tenant_rows(checked, "patients")
    copy = with_value(patients.slice(0, 1), "tenant_id", uuid.uuid4())
    plant(checked, "patients", copy)
    repeated = str(copy.column("id")[0].as_py())
    (frame,) = raw_plan()[raw_key("patients")]

    whole, bucketed = (
        run_frames(checked.warehouse, [frame], chunk_rows=rows)[0] for rows in (1_000_000, 12)
    )

    assert _failed(whole) == _failed(bucketed)
    failed = _failed(whole)
    assert failed["id is unique"] == (2, {repeated})
    assert "(tenant_id, mrn) is unique" not in failed  # the copy sits in another tenant
    assert failed["(tenant_id) -> tenants (id) exists"] == (1, {repeated})
    assert [o.failing_rows for o in bucketed if o.expectation == "id is not null"] == [0]


def test_missing_keys_stored_as_the_nil_uuid_are_null_keys(checked: Checked) -> None:
    payers = tenant_rows(checked, "payers")
    stray = with_value(with_value(payers.slice(0, 1), "id", uuid.uuid4()), "tenant_id", None)
    nameless = with_value(payers.slice(1, 1), "id", None)
    plant(checked, "payers", stray)
    plant(checked, "payers", nameless)
    with checked.warehouse.connect() as client:
        stored = client.query(
            "SELECT toString(tenant_id) FROM raw.payers FINAL WHERE id = {id:UUID}",
            parameters={"id": str(stray.column("id")[0].as_py())},
        ).result_rows
    assert stored == [("00000000-0000-0000-0000-000000000000",)]
    (frame,) = raw_plan()[raw_key("payers")]

    failed = _failed(run_frames(checked.warehouse, [frame])[0])

    assert failed["tenant_id is not null"] == (1, {str(stray.column("id")[0].as_py())})
    assert failed["id is not null"] == (1, set())  # no id to show
