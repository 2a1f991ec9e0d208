-- How far a bulk load's current pass has read its ledger (the dataset's items of its slice), 0 to 1. Reading a
-- slice of a 10M-item dataset takes about 2 s before the pass's first row can be decided; the status shows this as
-- the first part of the pass so that progress keeps moving (TaskStatusQuery). Reset to 0 with each new pass.
ALTER TABLE tasks ADD COLUMN load_prepared real NOT NULL DEFAULT 0;
