// @generated in the layout of `diesel print-schema`, from migrations/. Keep in step with them;
// the migration test checks every table and column named here against the migrated database.

diesel::table! {
    desk_codes (code) {
        code -> Text,
        desk_id -> Int4,
        created_at -> Timestamptz,
        retired_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    desks (id) {
        id -> Int4,
        unit_id -> Int4,
        name -> Text,
        form_id -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    form_items (id) {
        id -> Int4,
        form_version_id -> Int4,
        code -> Text,
        section_code -> Text,
        section_role -> Text,
        kind -> Text,
        position -> Int2,
        answer_index -> Nullable<Int2>,
    }
}

diesel::table! {
    form_versions (id) {
        id -> Int4,
        form_id -> Text,
        version -> Int4,
        content_sha256 -> Bytea,
        definition -> Jsonb,
        source_file -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    forms (id) {
        id -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    response_texts (response_id, item_id) {
        response_id -> Int8,
        item_id -> Int4,
        body -> Text,
    }
}

diesel::table! {
    responses (id) {
        id -> Int8,
        submission_key -> Uuid,
        unit_id -> Int4,
        desk_id -> Nullable<Int4>,
        desk_code -> Nullable<Text>,
        form_version_id -> Int4,
        channel -> Text,
        submitted_at -> Timestamptz,
        answers -> Array<Nullable<Int2>>,
    }
}

diesel::table! {
    units (id) {
        id -> Int4,
        parent_id -> Nullable<Int4>,
        code -> Text,
        name -> Text,
        kind -> Text,
        default_form_id -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(desk_codes -> desks (desk_id));
diesel::joinable!(desks -> forms (form_id));
diesel::joinable!(desks -> units (unit_id));
diesel::joinable!(form_items -> form_versions (form_version_id));
diesel::joinable!(form_versions -> forms (form_id));
diesel::joinable!(response_texts -> form_items (item_id));
diesel::joinable!(response_texts -> responses (response_id));
diesel::joinable!(responses -> desks (desk_id));
diesel::joinable!(responses -> form_versions (form_version_id));
diesel::joinable!(responses -> units (unit_id));
diesel::joinable!(units -> forms (default_form_id));

diesel::allow_tables_to_appear_in_same_query!(
    desk_codes,
    desks,
    form_items,
    form_versions,
    forms,
    response_texts,
    responses,
    units,
);
