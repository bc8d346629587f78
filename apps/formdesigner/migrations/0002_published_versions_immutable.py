"""The database refuses to change or delete a published form version (the service never does).

A version is deleted only with its form (the CASCADE from formdesigner_formdefinition); the
trigger allows that case, where the form row is already gone.
"""

from django.db import migrations

SQLITE = [
    """
    CREATE TRIGGER formdesigner_version_no_update BEFORE UPDATE ON formdesigner_formversion
    BEGIN SELECT RAISE(ABORT, 'a published form version is immutable'); END;
    """,
    """
    CREATE TRIGGER formdesigner_version_no_delete BEFORE DELETE ON formdesigner_formversion
    WHEN EXISTS (SELECT 1 FROM formdesigner_formdefinition WHERE id = OLD.form_id)
    BEGIN SELECT RAISE(ABORT, 'a published form version is immutable'); END;
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS formdesigner_version_no_update;",
    "DROP TRIGGER IF EXISTS formdesigner_version_no_delete;",
]

POSTGRES = [
    """
    CREATE FUNCTION formdesigner_version_immutable() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND NOT EXISTS (
            SELECT 1 FROM formdesigner_formdefinition WHERE id = OLD.form_id
        ) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'a published form version is immutable' USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER formdesigner_version_immutable BEFORE UPDATE OR DELETE ON formdesigner_formversion
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
