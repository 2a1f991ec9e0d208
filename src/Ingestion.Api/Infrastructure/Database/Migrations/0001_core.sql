-- The core model. Every table that holds user data carries workspace_id, and every query filters by it.

CREATE TABLE workspaces (
    workspace_id uuid PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Tokens are stored as SHA-256 of the secret: they are random 256-bit values, so a slow hash adds nothing.
CREATE TABLE api_tokens (
    token_id     uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces,
    token_hash   bytea NOT NULL UNIQUE,
    name         text NOT NULL,
    scopes       text[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

CREATE TABLE datasets (
    dataset_id   uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces,
    name         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX datasets_workspace ON datasets (workspace_id, created_at, dataset_id);

CREATE TABLE media_items (
    media_id     uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    dataset_id   uuid NOT NULL REFERENCES datasets,
    file_name    text NOT NULL,
    file_path    text,
    media_type   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT media_items_file_name_unique UNIQUE (dataset_id, file_name)
);
-- Stable keyset order for export and search pages.
CREATE INDEX media_items_dataset_order ON media_items (dataset_id, media_id);

CREATE TABLE fields (
    field_id     uuid PRIMARY KEY,
    workspace_id uuid NOT NULL,
    dataset_id   uuid NOT NULL REFERENCES datasets,
    field_name   text NOT NULL,
    field_type   text NOT NULL CHECK (field_type IN ('string', 'float', 'datetime', 'enum', 'link')),
    enum_options text[],
    is_multi     boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- Field names are unique per dataset ignoring case, so queries can name them in any case.
CREATE UNIQUE INDEX fields_dataset_name_unique ON fields (dataset_id, lower(field_name));

CREATE TABLE tasks (
    task_id          uuid PRIMARY KEY,
    workspace_id     uuid NOT NULL,
    dataset_id       uuid NOT NULL,
    field_id         uuid NOT NULL REFERENCES fields,
    status           text NOT NULL,
    upload_format    text,
    upload_bytes     bigint,
    -- Checkpoint: rows before rows_processed (and bytes before bytes_processed) are committed together
    -- with the values and row errors they produced; a resumed job starts from here.
    rows_processed   bigint NOT NULL DEFAULT 0,
    bytes_processed  bigint NOT NULL DEFAULT 0,
    inserted_rows    bigint NOT NULL DEFAULT 0,
    error_count      bigint NOT NULL DEFAULT 0,
    total_rows       bigint,
    failure_reason   text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    queued_at        timestamptz,
    started_at       timestamptz,
    completed_at     timestamptz
);
CREATE INDEX tasks_dataset ON tasks (dataset_id, created_at);
CREATE INDEX tasks_unfinished ON tasks (status) WHERE status IN ('QUEUED', 'IN_PROGRESS');

-- The uploaded file, kept in the database (so any node can process it) until its job is done with it.
CREATE TABLE upload_chunks (
    task_id  uuid NOT NULL REFERENCES tasks,
    chunk_no integer NOT NULL,
    data     bytea NOT NULL,
    PRIMARY KEY (task_id, chunk_no)
);
-- Chunks are read once and dropped: compressing them costs more time than the space is worth.
ALTER TABLE upload_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- One immutable value per media item and field. One typed column per kind of value, so each type gets the
-- index its operators need. No foreign keys: the ingest job checks media and fields set-wise, and FK
-- triggers would cost a lookup per row on the hot path.
CREATE TABLE field_values (
    field_id       uuid NOT NULL,
    media_id       uuid NOT NULL,
    workspace_id   uuid NOT NULL,
    dataset_id     uuid NOT NULL,
    task_id        uuid NOT NULL,
    row_index      bigint NOT NULL,
    value_text     text,
    value_float    double precision,
    value_datetime timestamptz,
    value_enums    text[],
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (field_id, media_id)
);
CREATE INDEX field_values_media ON field_values (media_id);

CREATE FUNCTION forbid_field_value_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'field values are immutable: % on field_values is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER field_values_immutable BEFORE UPDATE OR DELETE ON field_values
    FOR EACH ROW EXECUTE FUNCTION forbid_field_value_change();
CREATE TRIGGER field_values_no_truncate BEFORE TRUNCATE ON field_values
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_field_value_change();

-- Every row that failed, with where and why. row_index is the 0-based position in the file; a file-level
-- error (the file itself is broken) sits at the index of the first row that could not be read.
CREATE TABLE row_errors (
    task_id      uuid NOT NULL,
    row_index    bigint NOT NULL,
    workspace_id uuid NOT NULL,
    media_id     text,
    error_code   text NOT NULL,
    reason       text NOT NULL,
    value        text,
    line         bigint,
    col          bigint,
    is_file_error boolean NOT NULL DEFAULT false,
    PRIMARY KEY (task_id, row_index)
);
CREATE INDEX row_errors_code ON row_errors (task_id, error_code, row_index);
