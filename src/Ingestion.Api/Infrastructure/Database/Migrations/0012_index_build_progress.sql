-- How far a bulk load's index builds are together, 0 to 1, as the job last reported it (IndexBuildProgress). The job
-- reads PostgreSQL's build progress and writes this, so the status can show the sort phase, which PostgreSQL does not
-- count, as an estimate from how long the builds have sorted. It only ever grows.
ALTER TABLE tasks ADD COLUMN index_built real NOT NULL DEFAULT 0;
