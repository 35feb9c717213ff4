-- Responses in all, today (in Vietnam's time) and active desks, for the units $1 (NULL: all).
SELECT
    (SELECT count(*) FROM responses r
      WHERE $1::int4[] IS NULL OR r.unit_id = ANY ($1)) AS responses,
    (SELECT count(*) FROM responses r
      WHERE ($1::int4[] IS NULL OR r.unit_id = ANY ($1))
        AND r.submitted_at >= (date_trunc('day', now() AT TIME ZONE 'Asia/Ho_Chi_Minh')
                               AT TIME ZONE 'Asia/Ho_Chi_Minh')) AS today,
    (SELECT count(*) FROM desks d JOIN units u ON u.id = d.unit_id
      WHERE d.active AND u.active AND ($1::int4[] IS NULL OR d.unit_id = ANY ($1))) AS desks
