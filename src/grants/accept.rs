//! `DB_GRANT_ACCEPT`: findings the operator has decided to leave as they
//! are, so that `grant --check` and the doctor stop failing on them.
//!
//! Only one kind of finding can be accepted: a privilege that `PUBLIC` (so
//! every role, the app role included) holds on the database or the schema
//! when the migration role does not own it and so cannot revoke it. Before
//! PostgreSQL 15 that is `CREATE` on a new database's `public` schema,
//! which belongs to the bootstrap superuser (`rdsadmin` on RDS); only that
//! owner can run the `REVOKE`. Everything the migration role can fix, it
//! fixes, accepted or not; a missing privilege or an app role's own excess
//! grant is never acceptable. An accepted finding is still reported (under
//! `accepted`), with its fix.
//!
//! The value is a comma-separated list of names, each `<privilege>-on-<kind>`:
//! the name a finding carries (`name` in its JSON).

use std::collections::BTreeSet;

use crate::config::Sources;
use crate::env_vars::DB_GRANT_ACCEPT;
use crate::error::{Code, Error, Result};

/// Every name `DB_GRANT_ACCEPT` takes: what `PUBLIC` may hold on a database
/// or schema beyond least privilege (`CONNECT` and `USAGE` are its due).
pub const NAMES: [&str; 3] = [
    "create-on-schema",
    "create-on-database",
    "temporary-on-database",
];

/// The name of the finding "PUBLIC holds `privilege` on `kind`", when it
/// is one that can be accepted.
pub fn name(privilege: &str, kind: &str) -> Option<&'static str> {
    let wanted = format!("{}-on-{kind}", privilege.to_lowercase());
    NAMES.iter().copied().find(|n| *n == wanted)
}

/// The accepted names from `DB_GRANT_ACCEPT` (environment, then `.env`);
/// empty when unset. A name this tool does not know is a configuration
/// error, never ignored: a typo would otherwise accept nothing in silence.
pub fn from_sources(sources: &Sources) -> Result<BTreeSet<String>> {
    let Some(var) = sources.var(DB_GRANT_ACCEPT) else {
        return Ok(BTreeSet::new());
    };
    parse(&var.value).map_err(|position| {
        Error::new(
            Code::ConfigInvalid,
            format!(
                "{} names a finding that cannot be accepted (item {position} of the list)",
                var.origin
            ),
            format!(
                "use a comma-separated list of {}; see `migrate grant --check` for each \
                 finding's name",
                NAMES.join(", ")
            ),
        )
    })
}

/// Parses the list; `Err(n)`: the n-th item (1-based) is no known name.
fn parse(value: &str) -> std::result::Result<BTreeSet<String>, usize> {
    let mut names = BTreeSet::new();
    for (i, item) in value.split(',').map(str::trim).enumerate() {
        if item.is_empty() {
            continue;
        }
        let item = item.to_ascii_lowercase();
        if !NAMES.contains(&item.as_str()) {
            return Err(i + 1);
        }
        names.insert(item);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lists_of_known_findings() {
        assert_eq!(parse(""), Ok(BTreeSet::new()));
        assert_eq!(
            parse(" create-on-schema , TEMPORARY-on-database,"),
            Ok(["create-on-schema", "temporary-on-database"]
                .map(String::from)
                .into())
        );
        assert_eq!(parse("create-on-schema,usage-on-schema"), Err(2));
        assert_eq!(parse("create on schema"), Err(1));
        assert_eq!(name("CREATE", "schema"), Some("create-on-schema"));
        assert_eq!(name("TEMPORARY", "database"), Some("temporary-on-database"));
        assert_eq!(name("USAGE", "schema"), None);
        assert_eq!(name("SELECT", "table"), None);
    }
}
