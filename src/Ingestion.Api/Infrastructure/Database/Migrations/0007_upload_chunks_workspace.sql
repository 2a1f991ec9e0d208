-- Stored uploads are user data too: they carry their workspace like every other such table.
ALTER TABLE upload_chunks ADD COLUMN workspace_id uuid;
UPDATE upload_chunks c SET workspace_id = t.workspace_id FROM tasks t WHERE t.task_id = c.task_id;
ALTER TABLE upload_chunks ALTER COLUMN workspace_id SET NOT NULL;
