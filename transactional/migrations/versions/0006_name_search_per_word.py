"""Name search matches every word of the query, each through the trigram index.

0005 matched the whole query with `%` (similarity >= 0.3) OR `%>` (word similarity). On a
one-word query such as a family name, `%` compares a short string with a long one and let
a seventh of 100,000 patients through the index, each then rechecked (~75 ms). Requiring
every word to word-match (`%>`) keeps typos ("Smithfeild, Jonathon") and either word order,
and the index intersects one bitmap per word: 3-15 ms at 100,000 patients. One word must
reach PostgreSQL's default word similarity (0.6); with several, each narrows the others, so
0.5 each lets a second typo through.

`search_name` drops apostrophes and full stops and turns hyphens into spaces, so "obrien"
finds O'Brien and "lopez" finds Garcia-Lopez; the API normalises queries the same way
(`transactional.patients.search.name_words`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from transactional.migrations.rls import app_role

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_NAME = "lower(translate(family_name || ' ' || given_name, '-''\u2019.', ' '))"
_OLD_SEARCH_NAME = "lower(family_name || ' ' || given_name)"


def _search_name(expression: str) -> None:
    op.drop_index("ix_patients_search_name_trgm", table_name="patients")
    op.drop_column("patients", "search_name")
    op.add_column(
        "patients",
        sa.Column(
            "search_name",
            sa.String(length=202),
            sa.Computed(expression, persisted=True),
            nullable=False,
        ),
    )
    op.create_index(
        "ix_patients_search_name_trgm",
        "patients",
        ["search_name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_name": "gin_trgm_ops"},
    )


def upgrade() -> None:
    op.execute("DROP FUNCTION app_patient_name_matches(text)")
    _search_name(SEARCH_NAME)
    # EXECUTE plans each call with the words as values, so the planner sees how selective
    # each one is. `%%` is format()'s escape for a literal `%`.
    op.execute(
        """
        CREATE FUNCTION app_patient_name_matches(words text[]) RETURNS TABLE (id uuid)
        LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 50
        SET search_path = pg_catalog, public
        SET pg_trgm.word_similarity_threshold = 0.6
        AS $$
        DECLARE
            conditions text := '';
        BEGIN
            IF coalesce(array_length(words, 1), 0) = 0 THEN
                RETURN;
            END IF;
            IF array_length(words, 1) > 1 THEN
                -- Local to this call: the SET clause above restores the value on return.
                PERFORM set_config('pg_trgm.word_similarity_threshold', '0.5', true);
            END IF;
            FOR i IN 1 .. array_length(words, 1) LOOP
                conditions := conditions
                    || format(' AND p.search_name OPERATOR(public.%%>) $1[%s]', i);
            END LOOP;
            RETURN QUERY EXECUTE
                'SELECT p.id FROM public.patients AS p '
                'WHERE p.tenant_id = public.app_current_tenant()' || conditions
                USING words;
        END
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION app_patient_name_matches(text[]) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION app_patient_name_matches(text[]) TO {app_role()}")


def downgrade() -> None:
    op.execute("DROP FUNCTION app_patient_name_matches(text[])")
    _search_name(_OLD_SEARCH_NAME)
    op.execute(
        """
        CREATE FUNCTION app_patient_name_matches(q text) RETURNS TABLE (id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER ROWS 50 SET search_path = pg_catalog, public
        AS $$
            SELECT p.id FROM public.patients AS p
            WHERE p.tenant_id = public.app_current_tenant()
              AND (p.search_name OPERATOR(public.%) q OR p.search_name OPERATOR(public.%>) q)
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION app_patient_name_matches(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION app_patient_name_matches(text) TO {app_role()}")
