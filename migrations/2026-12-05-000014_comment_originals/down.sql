DROP TABLE response_text_originals;
