-- Error reports give back each failed row as uploaded, so a row that named its item by file_name keeps that
-- name: the report can then be fixed and uploaded again in the same form.
ALTER TABLE row_errors ADD COLUMN file_name text;

-- Idempotency-Key: the key is inserted before the request runs, so a concurrent retry finds it taken and
-- never runs twice. The first answer is kept for replay until the key expires (24 h).
CREATE TABLE idempotency_keys (
    workspace_id   uuid NOT NULL,
    key            text NOT NULL,
    -- method, path and, for JSON requests, the SHA-256 of the body: what "the same request" means.
    fingerprint    text NOT NULL,
    status_code    integer,
    content_type   text,
    location       text,
    body           bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
