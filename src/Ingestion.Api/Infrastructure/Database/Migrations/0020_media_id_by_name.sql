-- The item that a file name names in a dataset, looked up by the (dataset_id, file_name) key whatever the statistics say.
--
-- Why a function: statistics gathered before a dataset's items were registered expect about one item of it, and stay
-- so until autovacuum analyzes media_items again, which a dataset small beside the table never triggers. Planned with
-- the dataset's id in hand, a lookup by dataset and name then looks as cheap through (dataset_id, media_id) with the
-- name as a filter, and the planner took that: each name read every item of the dataset (99 ms a batch of names at
-- 400,000 items; a minute a batch in the SQL path). A SQL function with a SET clause is never inlined, and its body
-- is planned without its arguments' values (a generic plan, as plan_cache_mode says): it estimates an average dataset,
-- and then only the unique key answers one name with one probe.
CREATE FUNCTION media_id_by_name(p_dataset_id uuid, p_file_name text) RETURNS uuid
    LANGUAGE sql STABLE STRICT SET plan_cache_mode = force_generic_plan
    AS $$ SELECT media_id FROM media_items WHERE dataset_id = p_dataset_id AND file_name = p_file_name $$;
