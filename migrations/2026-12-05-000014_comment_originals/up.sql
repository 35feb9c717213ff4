-- Comments as written, before personal data was masked (issue 15): kept only when the office
-- decides so (SIPAS_KEEP_ORIGINAL_COMMENTS, off by default), only for the comments in which
-- something was masked, and read only by admins' pages: a table of its own, so that no list,
-- report or export that reads response_texts can show one by mistake. Deleted with its comment
-- (the retention purge, SIPAS_COMMENTS_KEEP_DAYS).
CREATE TABLE response_text_originals (
    response_id bigint NOT NULL,
    item_id     integer NOT NULL,
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    PRIMARY KEY (response_id, item_id),
    FOREIGN KEY (response_id, item_id)
        REFERENCES response_texts (response_id, item_id) ON DELETE CASCADE
);
