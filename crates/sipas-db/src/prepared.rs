//! Hand-written SQL that PostgreSQL prepares once per connection.
//!
//! diesel parses, analyses and plans a `sql_query` (or a `sql` literal) anew on every call: it
//! never caches them, as their text may change from call to call. That is right for reports,
//! and too dear for a statement that runs on every citizen's submission (a data-modifying CTE
//! costs PostgreSQL more to plan than to run). A statement of its own type, with a static query
//! id and its SQL fixed at compile time, is prepared on first use and reused by the connection's
//! statement cache, as diesel's own query builder statements are.

/// The pieces of `sql` around its placeholders `$1`, `$2`, … `$binds`, which must each appear
/// exactly once and in that order: `binds + 1` pieces, to be pushed with one bind between each
/// two (`AstPass::push_bind_param` numbers the placeholders again, in the same order).
///
/// Panics when the placeholders are not so (a programming error, caught by the statement's
/// unit test).
pub fn pieces(sql: &'static str, binds: usize) -> Vec<&'static str> {
    let mut pieces = Vec::with_capacity(binds + 1);
    let mut rest = sql;
    for n in 1..=binds {
        let placeholder = format!("${n}");
        let at = rest
            .find(&placeholder)
            .unwrap_or_else(|| panic!("the statement has no placeholder {placeholder}"));
        let after = &rest[at + placeholder.len()..];
        assert!(
            !after.starts_with(|c: char| c.is_ascii_digit()),
            "placeholders must come in order: {placeholder} is followed by a digit"
        );
        pieces.push(&rest[..at]);
        rest = after;
    }
    assert!(
        !rest.contains('$'),
        "the statement has more than {binds} placeholders, or a `$` after the last one"
    );
    pieces.push(rest);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_splits_around_its_placeholders() {
        assert_eq!(
            pieces("SELECT $1::int + $2, 'x'", 2),
            vec!["SELECT ", "::int + ", ", 'x'"]
        );
        assert_eq!(pieces("SELECT 1", 0), vec!["SELECT 1"]);
    }

    #[test]
    #[should_panic(expected = "no placeholder $2")]
    fn placeholders_out_of_order_are_refused() {
        pieces("SELECT $2, $1", 2);
    }

    #[test]
    #[should_panic(expected = "more than 1 placeholders")]
    fn an_extra_placeholder_is_refused() {
        pieces("SELECT $1, $2", 1);
    }
}
