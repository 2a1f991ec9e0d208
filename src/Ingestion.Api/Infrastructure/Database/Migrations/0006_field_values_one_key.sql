-- field_values keeps one btree instead of two: the primary key leads with media_id, so it serves the per-item
-- reads the separate (media_id) index served, and every ingested row maintains one index fewer. Ingestion inserts
-- in media_id order (the classify statement sorts each batch by item), which this key order also turns into
-- mostly sequential index writes. Lookups by field alone use the per-type indexes that lead with field_id.
ALTER TABLE field_values DROP CONSTRAINT field_values_pkey;
ALTER TABLE field_values ADD CONSTRAINT field_values_pkey PRIMARY KEY (media_id, field_id);
DROP INDEX field_values_media;
