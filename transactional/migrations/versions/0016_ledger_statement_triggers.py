"""Invoice totals kept per statement instead of per row.

The ledger triggers of 0011 updated an invoice once for every charge, payment and adjustment
row. Row-level AFTER triggers already fire at the end of their statement, so totals were never
visible mid-statement anyway; doing it per statement, with the rows' sums per invoice from the
transition table, gives the same totals for the API's one-row inserts and one UPDATE per
invoice for a bulk load (3,000 rows/s before). Constraints on invoices are checked on the
statement's final totals, which is what they are about.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHARGES = """
    CREATE FUNCTION billing_charges_to_invoices() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            UPDATE public.invoices AS i
               SET charges_cents = i.charges_cents + d.delta, updated_at = now()
              FROM (SELECT tenant_id, invoice_id, sum(amount_cents) AS delta
                      FROM new_rows WHERE status = 'active' GROUP BY 1, 2) AS d
             WHERE i.tenant_id = d.tenant_id AND i.id = d.invoice_id;
        ELSE
            UPDATE public.invoices AS i
               SET charges_cents = i.charges_cents - d.delta, updated_at = now()
              FROM (SELECT o.tenant_id, o.invoice_id, sum(o.amount_cents) AS delta
                      FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
                     WHERE o.status = 'active' AND n.status = 'void' GROUP BY 1, 2) AS d
             WHERE i.tenant_id = d.tenant_id AND i.id = d.invoice_id;
        END IF;
        RETURN NULL;
    END $$
"""
PAYMENTS = """
    CREATE FUNCTION billing_payments_to_invoices() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    BEGIN
        UPDATE public.invoices AS i
           SET payments_cents = i.payments_cents + d.paid,
               patient_payments_cents = i.patient_payments_cents + d.by_patient,
               updated_at = now()
          FROM (SELECT tenant_id, invoice_id, sum(amount_cents) AS paid,
                       sum(CASE WHEN source = 'patient' THEN amount_cents ELSE 0 END) AS by_patient
                  FROM new_rows GROUP BY 1, 2) AS d
         WHERE i.tenant_id = d.tenant_id AND i.id = d.invoice_id;
        RETURN NULL;
    END $$
"""
ADJUSTMENTS = """
    CREATE FUNCTION billing_adjustments_to_invoices() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    BEGIN
        UPDATE public.invoices AS i
           SET patient_responsibility_cents = i.patient_responsibility_cents + d.moved,
               adjustments_cents = i.adjustments_cents + d.reduced,
               updated_at = now()
          FROM (SELECT tenant_id, invoice_id,
                       sum(CASE WHEN kind = 'patient_responsibility' THEN amount_cents ELSE 0 END)
                           AS moved,
                       sum(CASE WHEN kind <> 'patient_responsibility' THEN amount_cents ELSE 0 END)
                           AS reduced
                  FROM new_rows GROUP BY 1, 2) AS d
         WHERE i.tenant_id = d.tenant_id AND i.id = d.invoice_id;
        RETURN NULL;
    END $$
"""


def upgrade() -> None:
    op.execute("DROP TRIGGER charges_invoice_totals ON charges")
    op.execute("DROP TRIGGER payments_invoice_totals ON payments")
    op.execute("DROP TRIGGER adjustments_invoice_totals ON adjustments")
    for function in (CHARGES, PAYMENTS, ADJUSTMENTS):
        op.execute(function)
    op.execute(
        "CREATE TRIGGER charges_invoice_totals_insert AFTER INSERT ON charges "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION billing_charges_to_invoices()"
    )
    op.execute(
        "CREATE TRIGGER charges_invoice_totals_update AFTER UPDATE ON charges "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION billing_charges_to_invoices()"
    )
    op.execute(
        "CREATE TRIGGER payments_invoice_totals AFTER INSERT ON payments "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION billing_payments_to_invoices()"
    )
    op.execute(
        "CREATE TRIGGER adjustments_invoice_totals AFTER INSERT ON adjustments "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION billing_adjustments_to_invoices()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER adjustments_invoice_totals ON adjustments")
    op.execute("DROP TRIGGER payments_invoice_totals ON payments")
    op.execute("DROP TRIGGER charges_invoice_totals_update ON charges")
    op.execute("DROP TRIGGER charges_invoice_totals_insert ON charges")
    op.execute("DROP FUNCTION billing_adjustments_to_invoices()")
    op.execute("DROP FUNCTION billing_payments_to_invoices()")
    op.execute("DROP FUNCTION billing_charges_to_invoices()")
    op.execute(
        "CREATE TRIGGER charges_invoice_totals AFTER INSERT OR UPDATE ON charges "
        "FOR EACH ROW EXECUTE FUNCTION billing_charges_to_invoice()"
    )
    op.execute(
        "CREATE TRIGGER payments_invoice_totals AFTER INSERT ON payments "
        "FOR EACH ROW EXECUTE FUNCTION billing_payments_to_invoice()"
    )
    op.execute(
        "CREATE TRIGGER adjustments_invoice_totals AFTER INSERT ON adjustments "
        "FOR EACH ROW EXECUTE FUNCTION billing_adjustments_to_invoice()"
    )
