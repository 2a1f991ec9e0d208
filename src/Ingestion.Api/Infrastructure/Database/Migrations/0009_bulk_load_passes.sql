-- A bulk load over a dataset larger than one ledger makes a pass over the file per slice of the dataset's items.
-- load_pass is the pass the checkpoint (rows_processed, bytes_processed) belongs to; load_passes is fixed when the load
-- starts, since it decides which rows each pass covers.
ALTER TABLE tasks
    ADD COLUMN load_pass int NOT NULL DEFAULT 0,
    ADD COLUMN load_passes int NOT NULL DEFAULT 1;
