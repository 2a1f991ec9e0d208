-- Uploads as users have them: compressed files, and dry runs that validate a file without storing a value.

-- 'gzip' when the stored upload is gzip-compressed; the job decompresses it as it reads.
ALTER TABLE tasks ADD COLUMN upload_compression text CHECK (upload_compression IN ('gzip'));

-- Set on a dry-run task: the task whose field it validates a file for. A dry run stores no value, and the
-- task it stands for stays open for the real upload.
ALTER TABLE tasks ADD COLUMN dry_run_of uuid REFERENCES tasks;

-- The media items a running dry run would have given a value, so that a repeat later in the same file is
-- found exactly as in a real upload. Written in the same transaction as the task's checkpoint (so a resumed
-- dry run stays exact) and dropped when the dry run finishes.
CREATE TABLE dry_run_values (
    task_id      uuid NOT NULL REFERENCES tasks,
    media_id     uuid NOT NULL,
    workspace_id uuid NOT NULL,
    row_index    bigint NOT NULL,
    PRIMARY KEY (task_id, media_id)
);
