// @generated in the layout of `diesel print-schema`, from migrations/. Keep in step with them;
// the migration test checks every table and column named here against the migrated database.

diesel::table! {
    account_units (account_id, unit_id) {
        account_id -> Int4,
        unit_id -> Int4,
    }
}

diesel::table! {
    accounts (id) {
        id -> Int4,
        username -> Text,
        display_name -> Text,
        role -> Text,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamptz,
        password_changed_at -> Timestamptz,
        sessions_valid_after -> Timestamptz,
    }
}

diesel::table! {
    alert_events (subscription_id, response_id) {
        subscription_id -> Int4,
        response_id -> Int8,
        very_dissatisfied -> Bool,
        comment -> Bool,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        dropped_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    alert_state (id) {
        id -> Bool,
        last_response_id -> Int8,
        last_error -> Nullable<Text>,
        last_error_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    alert_subscriptions (id) {
        id -> Int4,
        account_id -> Int4,
        unit_id -> Int4,
        email -> Text,
        on_very_dissatisfied -> Bool,
        on_comment -> Bool,
        mode -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Int4,
        account_id -> Int4,
        name -> Text,
        token_sha256 -> Bytea,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        account_id -> Nullable<Int4>,
        action -> Text,
        entity -> Text,
        entity_id -> Nullable<Text>,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
    }
}

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
        opening_hours -> Nullable<Jsonb>,
    }
}

diesel::table! {
    kiosks (id) {
        id -> Int4,
        desk_id -> Int4,
        label -> Text,
        secret_hash -> Bytea,
        enrolled_by -> Int4,
        enrolled_at -> Timestamptz,
        last_seen_at -> Nullable<Timestamptz>,
        revoked_by -> Nullable<Int4>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    export_jobs (id) {
        id -> Int4,
        account_id -> Int4,
        scope -> Nullable<Array<Nullable<Int4>>>,
        unit_id -> Int4,
        year -> Int2,
        period -> Text,
        form_id -> Text,
        channel -> Nullable<Text>,
        format -> Text,
        label -> Text,
        status -> Text,
        attempts -> Int2,
        rows_done -> Int8,
        rows_total -> Nullable<Int8>,
        file_key -> Uuid,
        file_name -> Nullable<Text>,
        byte_size -> Nullable<Int8>,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        heartbeat_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
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
    plan_goals (plan_id, position) {
        plan_id -> Int4,
        position -> Int2,
        label -> Text,
        points -> Int4,
        basis -> Text,
    }
}

diesel::table! {
    plan_periods (id) {
        id -> Int4,
        plan_id -> Int4,
        name -> Text,
        starts_on -> Date,
        ends_on -> Date,
    }
}

diesel::table! {
    plan_targets (period_id, unit_id) {
        period_id -> Int4,
        unit_id -> Int4,
        target -> Int4,
        expected_dossiers -> Nullable<Int4>,
    }
}

diesel::table! {
    published_results (id) {
        id -> Int4,
        plan_id -> Int4,
        period_id -> Int4,
        published_at -> Timestamptz,
        published_by -> Int4,
        figures -> Jsonb,
    }
}

diesel::table! {
    reorganisations (id) {
        id -> Int4,
        kind -> Text,
        title -> Text,
        legal_basis -> Text,
        effective_date -> Date,
        details -> Jsonb,
        applied_by -> Nullable<Int4>,
        applied_at -> Timestamptz,
    }
}

diesel::table! {
    response_text_originals (response_id, item_id) {
        response_id -> Int8,
        item_id -> Int4,
        body -> Text,
    }
}

diesel::table! {
    response_texts (response_id, item_id) {
        response_id -> Int8,
        item_id -> Int4,
        body -> Text,
        handled_at -> Nullable<Timestamptz>,
        handled_by -> Nullable<Int4>,
        handling_note -> Nullable<Text>,
        unit_id -> Int4,
        submitted_at -> Timestamptz,
        form_version_id -> Int4,
    }
}

// One row per response, written by a trigger with it (migration 30): keeps a submission key
// stored once and a unit's paper serial entered once across the yearly partitions of
// `responses`, and is what comments, flags, reviews and alert events refer to.
diesel::table! {
    response_keys (response_id) {
        response_id -> Int8,
        submission_key -> Uuid,
        submitted_at -> Timestamptz,
        unit_id -> Int4,
        form_version_id -> Int4,
        paper_serial -> Nullable<Text>,
    }
}

// Partitioned by year on `submitted_at` (migration 30): the database's primary key is
// (id, submitted_at); `id` alone is unique too (`response_keys`), and is the key declared here
// so that `find` and the joins to responses keep working.
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
        entered_by -> Nullable<Int4>,
        entered_at -> Nullable<Timestamptz>,
        paper_serial -> Nullable<Text>,
        client_key -> Nullable<Bytea>,
        started_at -> Nullable<Timestamptz>,
        via -> Nullable<Text>,
        residence_unit_id -> Nullable<Int4>,
        residence_code -> Nullable<Int2>,
    }
}

diesel::table! {
    rollup_answers (unit_id, form_version_id, day, channel, answer_index, value) {
        unit_id -> Int4,
        form_version_id -> Int4,
        day -> Date,
        channel -> Text,
        answer_index -> Int2,
        value -> Int2,
        n -> Int4,
    }
}

diesel::table! {
    rollup_answers_month (unit_id, form_version_id, month, channel, answer_index, value) {
        unit_id -> Int4,
        form_version_id -> Int4,
        month -> Date,
        channel -> Text,
        answer_index -> Int2,
        value -> Int2,
        n -> Int4,
    }
}

diesel::table! {
    rollup_answers_month_total (unit_id, form_version_id, month, answer_index, value) {
        unit_id -> Int4,
        form_version_id -> Int4,
        month -> Date,
        answer_index -> Int2,
        value -> Int2,
        n -> Int4,
    }
}

diesel::table! {
    rollup_attribute_answers_month (form_version_id, attribute_index, attribute_value, month, unit_id, channel, answer_index, value) {
        unit_id -> Int4,
        form_version_id -> Int4,
        month -> Date,
        channel -> Text,
        attribute_index -> Int2,
        attribute_value -> Int2,
        answer_index -> Int2,
        value -> Int2,
        n -> Int4,
    }
}

diesel::table! {
    rollup_attribute_responses_month (form_version_id, attribute_index, attribute_value, month, unit_id, channel) {
        unit_id -> Int4,
        form_version_id -> Int4,
        month -> Date,
        channel -> Text,
        attribute_index -> Int2,
        attribute_value -> Int2,
        responses -> Int4,
        score_n -> Int4,
        score_sum -> Float8,
        score_sum_sq -> Float8,
    }
}

diesel::table! {
    rollup_responses (unit_id, form_version_id, day, channel) {
        unit_id -> Int4,
        form_version_id -> Int4,
        day -> Date,
        channel -> Text,
        responses -> Int4,
        score_n -> Int4,
        score_sum -> Float8,
        score_sum_sq -> Float8,
    }
}

diesel::table! {
    rollup_responses_month (unit_id, form_version_id, month, channel) {
        unit_id -> Int4,
        form_version_id -> Int4,
        month -> Date,
        channel -> Text,
        responses -> Int4,
        score_n -> Int4,
        score_sum -> Float8,
        score_sum_sq -> Float8,
    }
}

diesel::table! {
    rollup_state (id) {
        id -> Bool,
        last_response_id -> Int8,
        refreshed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sign_in_failures (id) {
        id -> Int8,
        username -> Text,
        client_key -> Bytea,
        at -> Timestamptz,
    }
}

diesel::table! {
    survey_plans (id) {
        id -> Int4,
        unit_id -> Int4,
        year -> Int2,
        title -> Text,
        form_id -> Text,
        margin_of_error -> Float8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    unit_lineage (reorganisation_id, predecessor_id, successor_id) {
        reorganisation_id -> Int4,
        predecessor_id -> Int4,
        successor_id -> Int4,
        share_points -> Nullable<Int4>,
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
        admin_code -> Nullable<Text>,
        valid_from -> Nullable<Date>,
        valid_until -> Nullable<Date>,
    }
}

diesel::table! {
    visit_codes (id) {
        id -> Int8,
        code -> Text,
        desk_id -> Int4,
        batch -> Uuid,
        dossier_no -> Nullable<Text>,
        created_by -> Nullable<Int4>,
        created_by_token -> Nullable<Int4>,
        created_at -> Timestamptz,
        used -> Bool,
    }
}

diesel::table! {
    visit_limits (kind, key) {
        kind -> Text,
        key -> Bytea,
        tokens -> Float8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    desk_days (desk_id, day) {
        desk_id -> Int4,
        day -> Date,
        responses -> Int4,
    }
}

diesel::table! {
    fraud_rules (id) {
        id -> Bool,
        desk_burst_minutes -> Int4,
        desk_burst_min -> Int4,
        desk_burst_ratio -> Float8,
        client_burst_minutes -> Int4,
        client_burst_min -> Int4,
        identical_run_desk -> Int4,
        identical_run_client -> Int4,
        identical_min_items -> Int4,
        straight_min_criteria -> Int4,
        min_seconds_base -> Float8,
        min_seconds_per_item -> Float8,
        hours_grace_before_minutes -> Int4,
        hours_grace_after_minutes -> Int4,
    }
}

diesel::table! {
    response_flags (response_id, reason) {
        response_id -> Int8,
        reason -> Text,
        severity -> Text,
        detail -> Jsonb,
        detected_at -> Timestamptz,
    }
}

diesel::table! {
    response_reviews (response_id) {
        response_id -> Int8,
        excluded_by_default -> Bool,
        decision -> Nullable<Text>,
        decided_by -> Nullable<Int4>,
        decided_at -> Nullable<Timestamptz>,
        note -> Nullable<Text>,
        excluded -> Bool,
    }
}

diesel::joinable!(response_flags -> responses (response_id));
diesel::joinable!(response_reviews -> responses (response_id));
diesel::joinable!(response_reviews -> accounts (decided_by));
diesel::joinable!(account_units -> accounts (account_id));
diesel::joinable!(alert_events -> alert_subscriptions (subscription_id));
diesel::joinable!(alert_events -> responses (response_id));
diesel::joinable!(alert_subscriptions -> accounts (account_id));
diesel::joinable!(alert_subscriptions -> units (unit_id));
diesel::joinable!(api_tokens -> accounts (account_id));
diesel::joinable!(account_units -> units (unit_id));
diesel::joinable!(audit_log -> accounts (account_id));
diesel::joinable!(export_jobs -> accounts (account_id));
diesel::joinable!(export_jobs -> forms (form_id));
diesel::joinable!(export_jobs -> units (unit_id));
diesel::joinable!(desk_codes -> desks (desk_id));
diesel::joinable!(desks -> forms (form_id));
diesel::joinable!(desks -> units (unit_id));
diesel::joinable!(form_items -> form_versions (form_version_id));
diesel::joinable!(form_versions -> forms (form_id));
diesel::joinable!(plan_goals -> survey_plans (plan_id));
diesel::joinable!(plan_periods -> survey_plans (plan_id));
diesel::joinable!(plan_targets -> plan_periods (period_id));
diesel::joinable!(plan_targets -> units (unit_id));
diesel::joinable!(published_results -> accounts (published_by));
diesel::joinable!(published_results -> plan_periods (period_id));
diesel::joinable!(published_results -> survey_plans (plan_id));
diesel::joinable!(response_texts -> accounts (handled_by));
diesel::joinable!(response_texts -> form_items (item_id));
diesel::joinable!(rollup_answers -> form_versions (form_version_id));
diesel::joinable!(rollup_answers -> units (unit_id));
diesel::joinable!(rollup_answers_month -> form_versions (form_version_id));
diesel::joinable!(rollup_answers_month -> units (unit_id));
diesel::joinable!(rollup_attribute_answers_month -> form_versions (form_version_id));
diesel::joinable!(rollup_attribute_answers_month -> units (unit_id));
diesel::joinable!(rollup_attribute_responses_month -> form_versions (form_version_id));
diesel::joinable!(rollup_attribute_responses_month -> units (unit_id));
diesel::joinable!(rollup_responses -> form_versions (form_version_id));
diesel::joinable!(rollup_responses -> units (unit_id));
diesel::joinable!(rollup_responses_month -> form_versions (form_version_id));
diesel::joinable!(rollup_responses_month -> units (unit_id));
diesel::joinable!(response_texts -> responses (response_id));
diesel::joinable!(response_keys -> responses (response_id));
diesel::joinable!(responses -> accounts (entered_by));
diesel::joinable!(responses -> desks (desk_id));
diesel::joinable!(responses -> form_versions (form_version_id));
diesel::joinable!(responses -> units (unit_id));
diesel::joinable!(survey_plans -> forms (form_id));
diesel::joinable!(survey_plans -> units (unit_id));
diesel::joinable!(units -> forms (default_form_id));
diesel::joinable!(reorganisations -> accounts (applied_by));
diesel::joinable!(unit_lineage -> reorganisations (reorganisation_id));
diesel::joinable!(desk_days -> desks (desk_id));
diesel::joinable!(visit_codes -> desks (desk_id));
diesel::joinable!(kiosks -> desks (desk_id));
diesel::joinable!(visit_codes -> api_tokens (created_by_token));

diesel::allow_tables_to_appear_in_same_query!(
    account_units,
    accounts,
    alert_events,
    alert_state,
    alert_subscriptions,
    api_tokens,
    audit_log,
    desk_codes,
    desk_days,
    desks,
    export_jobs,
    kiosks,
    form_items,
    form_versions,
    forms,
    fraud_rules,
    plan_goals,
    plan_periods,
    plan_targets,
    published_results,
    reorganisations,
    response_text_originals,
    response_texts,
    response_flags,
    response_reviews,
    response_keys,
    responses,
    rollup_answers,
    rollup_answers_month,
    rollup_answers_month_total,
    rollup_attribute_answers_month,
    rollup_attribute_responses_month,
    rollup_responses,
    rollup_responses_month,
    rollup_state,
    sign_in_failures,
    survey_plans,
    unit_lineage,
    units,
    visit_codes,
    visit_limits,
);
