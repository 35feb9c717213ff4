-- The places of residence the survey offers: the communes, wards and towns that exist today
-- (Vietnam's day $1: valid_from not after it, valid_until after it), grouped under their
-- parent unit's name (empty for a unit without parent), by group then name.
SELECT u.id AS unit_id, u.name, coalesce(p.name, '') AS group_name
FROM units u
LEFT JOIN units p ON p.id = u.parent_id
WHERE u.kind IN ('commune', 'ward', 'town')
  AND (u.valid_from IS NULL OR u.valid_from <= $1)
  AND (u.valid_until IS NULL OR u.valid_until > $1)
ORDER BY coalesce(p.name, ''), u.name, u.id
