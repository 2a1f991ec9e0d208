-- Each change of a dataset's items (a row of dataset_item_counts: a statement's additions or removals, or a merge of
-- such rows) records the transaction that made it. A bulk load keeps the item ids it read, with the snapshot it read
-- them in, for the next field's first upload into the same dataset (DatasetItemKeys): the ids are still the dataset's
-- exactly when every change row is visible in that snapshot. A registration still running when the ids were read, or
-- begun after, leaves a row the snapshot does not see; a merge replaces rows with one of its own, so it counts as a
-- change too (a needless reread, never a missed one).
--
-- A non-constant default: rows already here take this migration's transaction, which no kept snapshot can predate.
ALTER TABLE dataset_item_counts ADD COLUMN changed_by xid8 NOT NULL DEFAULT pg_current_xact_id();
