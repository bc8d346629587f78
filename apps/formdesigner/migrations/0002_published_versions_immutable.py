"""The database refuses to change a published form version (the service never does): live data
was checked against it, so it stays as it was.

An UPDATE that writes the same values is let through (the test runner reloads rows that way),
and so is the publisher's user being deleted (published_by becomes NULL).

Deleting is left to the foreign keys (a form's versions PROTECT it, a form PROTECTs its
published version): a row trigger on DELETE would also stop the test runner's flush, which
empties tables with DELETE on SQLite.
"""

from django.db import migrations

SQLITE = [
    """
    CREATE TRIGGER formdesigner_version_no_update BEFORE UPDATE ON formdesigner_formversion
    WHEN OLD.form_id IS NOT NEW.form_id OR OLD.number IS NOT NEW.number
        OR OLD.document IS NOT NEW.document OR OLD.archived IS NOT NEW.archived
        OR OLD.note IS NOT NEW.note OR OLD.published_at IS NOT NEW.published_at
        OR (NEW.published_by_id IS NOT NULL AND OLD.published_by_id IS NOT NEW.published_by_id)
    BEGIN SELECT RAISE(ABORT, 'a published form version is immutable'); END;
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS formdesigner_version_no_update;",
]

POSTGRES = [
    """
    CREATE FUNCTION formdesigner_version_immutable() RETURNS trigger AS $$
    BEGIN
        IF OLD.form_id IS NOT DISTINCT FROM NEW.form_id AND OLD.number IS NOT DISTINCT FROM NEW.number
            AND OLD.document IS NOT DISTINCT FROM NEW.document AND OLD.archived IS NOT DISTINCT FROM NEW.archived
            AND OLD.note IS NOT DISTINCT FROM NEW.note AND OLD.published_at IS NOT DISTINCT FROM NEW.published_at
            AND (NEW.published_by_id IS NULL OR OLD.published_by_id IS NOT DISTINCT FROM NEW.published_by_id)
        THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'a published form version is immutable' USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER formdesigner_version_immutable BEFORE UPDATE ON formdesigner_formversion
    FOR EACH ROW EXECUTE FUNCTION formdesigner_version_immutable();
    """,
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS formdesigner_version_immutable ON formdesigner_formversion;",
    "DROP FUNCTION IF EXISTS formdesigner_version_immutable();",
]


def forwards(apps, schema_editor):
    statements = POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE
    for statement in statements:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    statements = POSTGRES_REVERSE if schema_editor.connection.vendor == "postgresql" else SQLITE_REVERSE
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("formdesigner", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
