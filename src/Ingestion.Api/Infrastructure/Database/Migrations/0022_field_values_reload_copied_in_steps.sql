-- The job copies a field's values into its reload table itself, a run of pages at a time, so that the task's status
-- moves while it copies millions of them (UploadTaskRunner.CopyIntoReloadTableAsync); 0021's one-statement copy goes.
DROP FUNCTION create_field_values_reload(uuid);
