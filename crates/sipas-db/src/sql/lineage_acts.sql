-- Every recorded act (reorganisations), with the unit and former name of a rename.
SELECT r.id, r.kind, r.title, r.effective_date,
       CASE WHEN r.kind = 'rename' AND r.details ? 'unit_id' AND jsonb_typeof(r.details -> 'unit_id') = 'number'
            THEN (r.details ->> 'unit_id')::int4 END AS renamed_unit,
       CASE WHEN r.kind = 'rename' THEN r.details ->> 'from' END AS former_name
FROM reorganisations r
ORDER BY r.effective_date, r.id
