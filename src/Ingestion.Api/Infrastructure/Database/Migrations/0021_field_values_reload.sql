-- A later upload that is large beside what its field already holds is loaded the way a first upload is: into a table
-- with no index, built once at the end. The field's values stay where readers find them meanwhile: the job loads a
-- second table of the field's, its reload table, which starts as a copy of the field's table, then builds its indexes
-- and swaps it in for the field's table in one transaction (Features/Fields/FieldValueTables.cs).
--
-- Why: inserting into a table that carries its indexes costs a probe into each btree and GIN per row, so a later upload
-- went at 87,000-103,000 rows/s against 500,000-650,000 for a first one. Measured in psql, 950,000 rows into a field
-- table of 950,000 indexed ones: COPY 6.0-15.5 s, against about 0.4 s to copy the old rows, 0.5 s to COPY the new ones
-- and 0.8 s to build the indexes over both.
--
-- Invariants: only the job holding the field's lock writes either table. The reload table holds every value of the
-- field's table (copied in the transaction that creates it, so a crash leaves either no reload table or a whole copy)
-- and the upload's values committed so far. The swap drops the field's table and renames the reload table, its
-- indexes, constraint and triggers to the field's names, then attaches it: readers see the old values or the old and
-- the new ones, never a part.

-- The reload table's name: the field's table's, from the field id alone, with a suffix.
CREATE FUNCTION field_values_reload_table(p_field_id uuid) RETURNS text LANGUAGE sql IMMUTABLE
    RETURN field_values_table(p_field_id) || '_reload';

-- A task that loads its field's reload table, so a job that resumes it loads the same table on.
ALTER TABLE tasks ADD COLUMN load_reload boolean NOT NULL DEFAULT false;

-- create_field_values_table (0014) for either of the field's tables: p_reload picks the reload table, whose
-- constraint and triggers are named after it, as the field's table's are after it.
CREATE FUNCTION create_field_values_table(p_field_id uuid, p_reload boolean) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text := CASE WHEN p_reload THEN field_values_reload_table(p_field_id) ELSE field_values_table(p_field_id) END;
BEGIN
    PERFORM 1 FROM fields WHERE field_id = p_field_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no field %', p_field_id;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE field_values INCLUDING DEFAULTS, CONSTRAINT %I CHECK (field_id = %L)) WITH (autovacuum_enabled = false)',
                   t, t || '_field', p_field_id);
    EXECUTE format('ALTER TABLE %I ALTER COLUMN field_id SET DEFAULT %L', t, p_field_id);
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION forbid_field_value_change()',
                   t || '_immutable', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION forbid_field_value_change()',
                   t || '_no_truncate', t);
END
$$;

-- The one-argument form creates the field's table, as before.
CREATE OR REPLACE FUNCTION create_field_values_table(p_field_id uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM create_field_values_table(p_field_id, false);
END
$$;

-- Creates the field's reload table with the field's values in it (a no-op when it exists). Created and filled in one
-- transaction, which wal_level = minimal does not log: the copy is synced at commit instead.
CREATE FUNCTION create_field_values_reload(p_field_id uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass(field_values_reload_table(p_field_id)) IS NOT NULL THEN
        RETURN;
    END IF;
    PERFORM create_field_values_table(p_field_id, true);
    EXECUTE format('INSERT INTO %1$I (field_id, media_id, task_id, row_index, value_text, value_float, value_datetime, value_enums)
                    SELECT field_id, media_id, task_id, row_index, value_text, value_float, value_datetime, value_enums FROM %2$I',
                   field_values_reload_table(p_field_id), field_values_table(p_field_id));
END
$$;

-- create_field_values_index (0008) for either of the field's tables: p_reload picks the reload table, whose indexes are
-- named after it, so that renaming the table's part of their names gives the field's table's names.
CREATE FUNCTION create_field_values_index(p_field_id uuid, p_index text, p_reload boolean) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text := CASE WHEN p_reload THEN field_values_reload_table(p_field_id) ELSE field_values_table(p_field_id) END;
BEGIN
    CASE p_index
        WHEN 'key' THEN
            EXECUTE format('CREATE UNIQUE INDEX IF NOT EXISTS %I ON %I (media_id, field_id)', t || '_key', t);
        WHEN 'float' THEN
            EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I (value_float, field_id) INCLUDE (media_id) WHERE value_float IS NOT NULL', t || '_float', t);
        WHEN 'datetime' THEN
            EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I (value_datetime, field_id) INCLUDE (media_id) WHERE value_datetime IS NOT NULL', t || '_datetime', t);
        WHEN 'text' THEN
            EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I (value_text text_pattern_ops, field_id) INCLUDE (media_id) WHERE value_text IS NOT NULL', t || '_text', t);
        WHEN 'text_trgm' THEN
            EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I USING gin (value_text gin_trgm_ops) WHERE value_text IS NOT NULL', t || '_text_trgm', t);
        WHEN 'enums' THEN
            EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I USING gin (value_enums) WHERE value_enums IS NOT NULL', t || '_enums', t);
        ELSE
            RAISE EXCEPTION 'unknown field_values index %', p_index;
    END CASE;
END
$$;

-- The two-argument form builds on the field's table, as before.
CREATE OR REPLACE FUNCTION create_field_values_index(p_field_id uuid, p_index text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM create_field_values_index(p_field_id, p_index, false);
END
$$;

-- Swaps the field's reload table in for its table (a no-op when there is none): in the caller's transaction, which
-- holds both tables' ACCESS EXCLUSIVE locks, and the parent's for the detach, until it commits.
CREATE FUNCTION swap_in_field_values_reload(p_field_id uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text := field_values_table(p_field_id);
    r text := field_values_reload_table(p_field_id);
    i text;
BEGIN
    IF to_regclass(r) IS NULL THEN
        RETURN;
    END IF;
    IF to_regclass(t) IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = t::regclass) THEN
            EXECUTE format('ALTER TABLE field_values DETACH PARTITION %I', t);
        END IF;
        EXECUTE format('DROP TABLE %I', t);
    END IF;
    EXECUTE format('ALTER TABLE %I RENAME TO %I', r, t);
    FOR i IN SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid WHERE x.indrelid = t::regclass LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', i, t || substr(i, length(r) + 1));
    END LOOP;
    EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', t, r || '_field', t || '_field');
    EXECUTE format('ALTER TRIGGER %I ON %I RENAME TO %I', r || '_immutable', t, t || '_immutable');
    EXECUTE format('ALTER TRIGGER %I ON %I RENAME TO %I', r || '_no_truncate', t, t || '_no_truncate');
    PERFORM attach_field_values_table(p_field_id);
END
$$;
