-- A field's table is created with autovacuum off, and attaching it (after its indexes are built) turns it back on.
--
-- Why: a first upload COPYs millions of rows into the table, which soon makes it a target for autovacuum (inserted
-- rows count since PostgreSQL 13). A vacuum started on the table during the load scans it while it grows, and one still
-- running when the load ends holds a lock the index builds must wait for: measured at 10M rows, CREATE INDEX waited
-- 1.0 s ("still waiting for ShareLock"), until PostgreSQL cancelled the vacuum after deadlock_timeout. Once attached,
-- autovacuum visits the table as usual and sets its visibility map for index-only scans.
CREATE OR REPLACE FUNCTION create_field_values_table(p_field_id uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text := field_values_table(p_field_id);
    f record;
BEGIN
    SELECT workspace_id, dataset_id INTO STRICT f FROM fields WHERE field_id = p_field_id;
    EXECUTE format('CREATE TABLE %I (LIKE field_values INCLUDING DEFAULTS, CONSTRAINT %I CHECK (field_id = %L)) WITH (autovacuum_enabled = false)',
                   t, t || '_field', p_field_id);
    EXECUTE format('ALTER TABLE %I ALTER COLUMN field_id SET DEFAULT %L, ALTER COLUMN workspace_id SET DEFAULT %L, ALTER COLUMN dataset_id SET DEFAULT %L',
                   t, p_field_id, f.workspace_id, f.dataset_id);
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION forbid_field_value_change()',
                   t || '_immutable', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION forbid_field_value_change()',
                   t || '_no_truncate', t);
END
$$;

CREATE OR REPLACE FUNCTION attach_field_values_table(p_field_id uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t text := field_values_table(p_field_id);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = t::regclass) THEN
        EXECUTE format('ALTER TABLE %I RESET (autovacuum_enabled)', t);
        EXECUTE format('ALTER TABLE field_values ATTACH PARTITION %I FOR VALUES IN (%L)', t, p_field_id);
    END IF;
END
$$;
