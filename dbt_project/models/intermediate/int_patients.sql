{{ config(order_by='(tenant_id, patient_id)') }}

-- Registered patients as of the as-of date: soft-deleted records and duplicates merged into
-- another record are left out (a merge moves their clinical and billing rows to the survivor).
select
    tenant_id,
    id as patient_id,
    mrn,
    birth_date,
    sex,
    race,
    ethnicity,
    postal_code,
    deceased_date,
    {{ age_in_years('birth_date', as_of_date()) }} as age_years,
    {{ age_band(age_in_years('birth_date', as_of_date())) }} as age_band,
    toBool(deceased_date is not null and deceased_date <= {{ as_of_date() }}) as is_deceased,
    {{ as_of_date() }} as as_of_date
from {{ ref('stg_patients') }}
where not is_deleted
    and merged_into_id is null
    and birth_date <= {{ as_of_date() }}
