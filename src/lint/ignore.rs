//! Ignore comments: `-- migrate-lint: ignore <rule>[, <rule>...] -- <reason>`.
//!
//! This reads the *contents* of one comment token that squawk's lexer
//! already cut out of the SQL; it never looks at SQL text itself.

use super::rules::RuleId;

/// What one comment says to the linter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Directive {
    /// A well-formed ignore: these rules, for this reason.
    Ignore {
        /// The rules it silences on the statement below.
        rules: Vec<RuleId>,
        /// Why, in the author's words.
        reason: String,
    },
    /// Meant for a linter but not honoured; the message says why.
    Invalid(String),
}

const PREFIX: &str = "migrate-lint";
const SQUAWK_PREFIXES: [&str; 2] = ["squawk-ignore", "squawk-disable-assume-in-transaction"];

/// The directive in a comment token (`-- ...` or `/* ... */`), if any.
pub(crate) fn directive(comment: &str) -> Option<Directive> {
    if let Some(body) = comment.strip_prefix("--") {
        return line_directive(body.trim());
    }
    let lowered = comment.to_ascii_lowercase();
    if lowered.contains(PREFIX) || SQUAWK_PREFIXES.iter().any(|p| lowered.contains(p)) {
        return Some(Directive::Invalid(
            "ignore comments must be `--` line comments, not block comments".to_string(),
        ));
    }
    None
}

fn line_directive(body: &str) -> Option<Directive> {
    let lowered = body.to_ascii_lowercase();
    if let Some(squawk) = SQUAWK_PREFIXES.iter().find(|p| lowered.starts_with(*p)) {
        return Some(Directive::Invalid(format!(
            "`{squawk}` silences squawk without a reason and with squawk's rule names; \
             write `-- migrate-lint: ignore <rule> -- <reason>` instead"
        )));
    }
    if !lowered.starts_with(PREFIX) {
        return None;
    }
    let rest = body[PREFIX.len()..].trim_start();
    let Some(rest) = rest.strip_prefix(':') else {
        return Some(invalid("a `:` must follow `migrate-lint`"));
    };
    let rest = rest.trim_start();
    let Some(rest) = rest
        .strip_prefix("ignore")
        .filter(|r| r.is_empty() || r.starts_with(char::is_whitespace))
    else {
        return Some(invalid("the only directive is `ignore`"));
    };
    let (list, reason) = match rest.split_once("--") {
        Some((list, reason)) => (list, reason.trim()),
        None => (rest, ""),
    };
    let mut rules = Vec::new();
    for name in list.split(',').map(str::trim) {
        if name.is_empty() {
            return Some(invalid("a rule id is missing"));
        }
        match name.parse::<RuleId>() {
            Ok(rule) if rule.ignorable() => rules.push(rule),
            Ok(rule) => return Some(invalid(&format!("`{rule}` cannot be ignored"))),
            Err(_) => return Some(invalid(&format!("unknown rule `{name}`"))),
        }
    }
    if reason.is_empty() {
        return Some(invalid("a reason is required after `--`"));
    }
    Some(Directive::Ignore {
        rules,
        reason: reason.to_string(),
    })
}

fn invalid(problem: &str) -> Directive {
    Directive::Invalid(format!(
        "{problem}; the form is `-- migrate-lint: ignore <rule>[, <rule>...] -- <reason>`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(rules: &[RuleId], reason: &str) -> Option<Directive> {
        Some(Directive::Ignore {
            rules: rules.to_vec(),
            reason: reason.to_string(),
        })
    }

    fn is_invalid(comment: &str) -> bool {
        matches!(directive(comment), Some(Directive::Invalid(_)))
    }

    #[test]
    fn well_formed() {
        assert_eq!(
            directive("-- migrate-lint: ignore drop-column -- unused since v42 (#123)"),
            ignore(&[RuleId::DropColumn], "unused since v42 (#123)")
        );
        assert_eq!(
            directive("--migrate-lint:ignore set-not-null,column-type-change--tiny table"),
            ignore(
                &[RuleId::SetNotNull, RuleId::ColumnTypeChange],
                "tiny table"
            )
        );
        assert_eq!(
            directive("-- migrate-lint: ignore drop-table -- reason -- with dashes"),
            ignore(&[RuleId::DropTable], "reason -- with dashes")
        );
    }

    #[test]
    fn other_comments_are_not_directives() {
        assert_eq!(directive("-- CreateTable"), None);
        assert_eq!(directive("-- migrate later"), None);
        assert_eq!(directive("/* Warnings: ... */"), None);
    }

    #[test]
    fn malformed() {
        assert!(is_invalid("-- migrate-lint: ignore drop-column"));
        assert!(is_invalid("-- migrate-lint: ignore drop-column --   "));
        assert!(is_invalid("-- migrate-lint: ignore -- why"));
        assert!(is_invalid(
            "-- migrate-lint: ignore drop-column,, drop-table -- why"
        ));
        assert!(is_invalid("-- migrate-lint: ignore dropcolumn -- why"));
        assert!(is_invalid(
            "-- migrate-lint: ignore ban-drop-column -- squawk's name"
        ));
        assert!(is_invalid(
            "-- migrate-lint: ignore lint-ignore-unused -- no"
        ));
        assert!(is_invalid("-- migrate-lint ignore drop-column -- no colon"));
        assert!(is_invalid("-- migrate-lint: allow drop-column -- why"));
        assert!(is_invalid("-- migrate-lint: ignoredrop-column -- why"));
        assert!(is_invalid("/* migrate-lint: ignore drop-column -- why */"));
        assert!(is_invalid("-- squawk-ignore ban-drop-column"));
        assert!(is_invalid("-- squawk-ignore-file"));
        assert!(is_invalid("-- squawk-disable-assume-in-transaction"));
    }
}
