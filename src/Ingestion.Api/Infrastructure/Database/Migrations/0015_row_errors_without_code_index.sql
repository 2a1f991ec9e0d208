-- Row errors lose their second index, (task_id, error_code, row_index).
--
-- Why: no query used it. The error list pages in row order and filters by code with `$n::text[] IS NULL OR error_code =
-- ANY($n)`, which the planner serves from the primary key (task_id, row_index) either way, and the counts per code read
-- the task's rows, workspace_id included, from the heap. Meanwhile every row error paid for it: COPYing 50,000 row errors
-- (a 1M-row upload at 5% invalid) took 222-245 ms in psql with both indexes against 119-124 ms with the key alone, and a
-- bulk load writes its row errors on the stage that paces it.
DROP INDEX IF EXISTS row_errors_code;
