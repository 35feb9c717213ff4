-- The ids of a unit's responses straight from an index (an index-only scan: no visit to the
-- table's pages, which hold every unit's responses interleaved by time). The staff home page
-- counts a unit account's unhandled comments and undecided flags by joining these ids with
-- response_texts and response_reviews (issue 17: with a million responses, 500 ms through the
-- table, a few milliseconds through this index).
CREATE INDEX responses_unit_id_idx ON responses (unit_id, id);
