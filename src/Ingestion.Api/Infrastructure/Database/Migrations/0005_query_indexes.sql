-- Indexes for filtering media by declared fields (Features/Query; docs/query-design.md explains the plans).
-- Each is PARTIAL on its own typed column being set, so an upload maintains only the index of its field's type:
-- a float upload touches field_values_float, never the text or array indexes. The btree ones INCLUDE media_id:
-- a range of matches then comes from the index alone (index-only scan), without a heap visit per match.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- =, !=, <, <=, >, >=, BETWEEN on floats: a range scan within one field.
CREATE INDEX field_values_float ON field_values (field_id, value_float) INCLUDE (media_id) WHERE value_float IS NOT NULL;

-- The same on UTC instants.
CREATE INDEX field_values_datetime ON field_values (field_id, value_datetime) INCLUDE (media_id) WHERE value_datetime IS NOT NULL;

-- =, IN and STARTS WITH on string, link and single-enum values. text_pattern_ops orders by bytes, so
-- LIKE 'prefix%' becomes a range scan under the database's C.UTF-8 collation too.
CREATE INDEX field_values_text ON field_values (field_id, value_text text_pattern_ops) INCLUDE (media_id) WHERE value_text IS NOT NULL;

-- CONTAINS (ILIKE '%…%'): trigrams. A GIN index cannot lead with field_id; the field is checked on the heap row.
CREATE INDEX field_values_text_trgm ON field_values USING gin (value_text gin_trgm_ops) WHERE value_text IS NOT NULL;

-- HAS ANY (&&), HAS ALL (@>) and set equality (@> and <@) on multi-enum selections.
CREATE INDEX field_values_enums ON field_values USING gin (value_enums) WHERE value_enums IS NOT NULL;
