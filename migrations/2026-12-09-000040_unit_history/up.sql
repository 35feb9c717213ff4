-- Units with a history (issue 19). Since 1 July 2025 the district level is abolished and
-- communes merge (Nghị quyết 1662/NQ-UBTVQH15 for Đồng Nai); a Home Affairs office must keep
-- its series across such acts.

-- The kinds of today's administration: the province's Public Administrative Service Centre
-- (Trung tâm Phục vụ hành chính công tỉnh), its branches and service points (chi nhánh / điểm
-- phục vụ) and the commune-level centre (Nghị định 118/2025/NĐ-CP).
ALTER TABLE units DROP CONSTRAINT units_kind_check;
ALTER TABLE units ADD CONSTRAINT units_kind_check CHECK (kind IN (
    'province', 'district', 'department', 'commune', 'town', 'ward',
    'service_centre', 'centre_branch', 'commune_centre', 'other'));

-- admin_code: the official administrative unit code (mã đơn vị hành chính: 2 digits for a
-- province, 3 for a former district, 5 for a commune or ward; Quyết định 19/2025/QĐ-TTg for
-- the codes since 1 July 2025), besides our own `code`. NULL for units that have none
-- (departments, centres).
-- valid_from: the first day the unit exists; NULL: since before the records began.
-- valid_until: the first day it no longer exists (the effective date of the act that ended it);
-- NULL: it still exists.
ALTER TABLE units
    ADD COLUMN admin_code  text CHECK (admin_code ~ '^([0-9]{2}|[0-9]{3}|[0-9]{5})$'),
    ADD COLUMN valid_from  date,
    ADD COLUMN valid_until date,
    ADD CONSTRAINT units_validity_check
        CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from);
-- An official code names one unit at a time (a code may be reused after its unit ended).
CREATE UNIQUE INDEX units_admin_code_current_idx ON units (admin_code) WHERE valid_until IS NULL;

-- A reorganisation: one recorded act (merge, split, rename, move) with its legal basis and
-- effective date, applied by an admin.
-- details: what the act changed beyond the lineage, for the record and the audit log:
--   rename {"unit_id": 7, "from": "Xã A", "to": "Xã B"};
--   move   {"unit_id": 7, "from_parent_id": 1, "to_parent_id": 2};
--   merge / split: {"desks": [{"desk_id": 3, "from_unit_id": 7, "to_unit_id": 9}, ...],
--                   "closed_desks": [...]}.
CREATE TABLE reorganisations (
    id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('merge', 'split', 'rename', 'move')),
    title          text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 300),
    legal_basis    text NOT NULL CHECK (length(btrim(legal_basis)) BETWEEN 1 AND 300),
    effective_date date NOT NULL,
    details        jsonb NOT NULL DEFAULT '{}'::jsonb,
    applied_by     integer REFERENCES accounts (id),
    applied_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reorganisations_effective_idx ON reorganisations (effective_date);

-- The lineage of units: the responses of `predecessor_id` before the act's effective date are
-- regrouped into `successor_id` when a period after the act is compared with one before it.
-- A merge into a new or an existing unit has one row per merged unit (a unit that absorbs
-- others and continues has no row of its own). A split has one row per successor.
-- share_points: for a split, the share of the predecessor's responses counted into this
-- successor, entered by the admin, in hundredths of a percent (2500 is 25,00%); NULL for a
-- merge (all of them), or for a split whose shares were not entered (comparisons across it are
-- then refused, with the reason).
CREATE TABLE unit_lineage (
    reorganisation_id integer NOT NULL REFERENCES reorganisations (id),
    predecessor_id    integer NOT NULL REFERENCES units (id),
    successor_id      integer NOT NULL REFERENCES units (id),
    share_points      integer CHECK (share_points BETWEEN 1 AND 10000),
    PRIMARY KEY (reorganisation_id, predecessor_id, successor_id),
    CHECK (predecessor_id <> successor_id)
);
CREATE INDEX unit_lineage_successor_idx ON unit_lineage (successor_id);
CREATE INDEX unit_lineage_predecessor_idx ON unit_lineage (predecessor_id);
