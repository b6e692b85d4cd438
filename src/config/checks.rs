//! Values that must never reach the server as they are: checked once a
//! connection is resolved, before anything connects.
//!
//! - **Control characters** (NUL, newline, tab, ...) in any part: a `%00`
//!   in a URL part ends up in the startup packet (in the database name it
//!   smuggled `default_transaction_read_only=on` into the session), and a
//!   password with one is rejected by SASLprep with a misleading error.
//! - **Identifiers longer than 63 bytes** (schema, role, database):
//!   PostgreSQL silently truncates them, while the tool looks them up in
//!   full, so the history and the grants would never be found again.
//! - **Hosts** that are neither a name nor an address: they could not
//!   be carried by a URL, a TLS handshake or an IAM signature.
//! - **System schemas** (`pg_catalog`, `information_schema`, `pg_toast`,
//!   `pg_temp*`, any `pg_*`): the tool would grant and revoke on the
//!   catalog itself.
//!
//! Messages name the part and where it came from, never the value.

use crate::error::{Code, Error, Result};

/// PostgreSQL's `NAMEDATALEN - 1`.
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// `value` holds no control character. `part` names it (`the app
/// connection's password (from DATABASE_URL)`).
pub fn no_control_characters(part: &str, value: &str) -> Result<()> {
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(Error::new(
            Code::ConfigInvalid,
            format!(
                "{part} contains a control character ({}), which PostgreSQL cannot take as it is",
                describe(c)
            ),
            "remove it: a %00, %0A or %09 in a URL part decodes to one; in a password, \
             PostgreSQL's SASLprep rejects them too, so the password itself must change",
        ));
    }
    Ok(())
}

fn describe(c: char) -> String {
    match c {
        '\0' => "NUL".to_string(),
        '\n' => "a newline".to_string(),
        '\r' => "a carriage return".to_string(),
        '\t' => "a tab".to_string(),
        c => format!("U+{:04X}", c as u32),
    }
}

/// `value` is a usable identifier: no control character, at most 63
/// bytes, not empty.
pub fn identifier(part: &str, value: &str) -> Result<()> {
    no_control_characters(part, value)?;
    if value.is_empty() {
        return Err(Error::new(
            Code::ConfigInvalid,
            format!("{part} is empty"),
            "give it a name",
        ));
    }
    if value.len() > MAX_IDENTIFIER_BYTES {
        return Err(Error::new(
            Code::ConfigInvalid,
            format!(
                "{part} is {} bytes long; PostgreSQL keeps only the first {MAX_IDENTIFIER_BYTES}, \
                 so it would not be found again by its full name",
                value.len()
            ),
            "use a name of at most 63 bytes (in UTF-8)",
        ));
    }
    Ok(())
}

/// `schema` may be managed: not one of PostgreSQL's own schemas.
pub fn managed_schema(part: &str, schema: &str) -> Result<()> {
    identifier(part, schema)?;
    let lower = schema.to_ascii_lowercase();
    if lower.starts_with("pg_") || lower == "information_schema" {
        return Err(Error::new(
            Code::ConfigSystemSchema,
            format!("{part} is `{schema}`, one of PostgreSQL's own schemas"),
            "set ?schema= to the application's schema (Prisma's default is public): the tool \
             creates its history there and grants on its tables, which it must never do in \
             pg_catalog, information_schema, pg_toast, pg_temp_* or any pg_* schema",
        ));
    }
    Ok(())
}

/// `value` is a host name or an IP address (bare, as `::1`, or in
/// brackets): nothing a URL, a TLS handshake or an IAM signature could not
/// carry.
pub fn host(part: &str, value: &str) -> Result<()> {
    no_control_characters(part, value)?;
    let bare = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    let valid = bare.parse::<std::net::IpAddr>().is_ok()
        || (!value.contains([':', '%']) && url::Host::parse(value).is_ok());
    if valid {
        return Ok(());
    }
    Err(Error::new(
        Code::ConfigInvalid,
        format!("{part} is not a host name or an IP address"),
        "give the server's DNS name (db.example.com), or its address (10.0.0.5, ::1)",
    ))
}

/// A Secrets Manager secret id: a secret's ARN
/// (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`) or its name, in
/// the characters AWS allows in names (ASCII letters, digits, `/_+=.@-`,
/// and the `!` of RDS-managed secrets, `rds!db-...`).
/// Anything else (a URL pasted into `DB_SECRET_ARN`, say) is refused
/// without being quoted, since messages about a secret quote its id.
pub fn secret_id(part: &str, value: &str) -> Result<()> {
    let name_chars = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-!".contains(c))
    };
    let valid = if let Some(rest) = value.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(6, ':').collect();
        matches!(parts.as_slice(), [partition, "secretsmanager", region, account, "secret", name]
            if name_chars(partition) && name_chars(region) && account.chars().all(|c| c.is_ascii_digit()) && name_chars(name))
    } else {
        value.len() <= 512 && name_chars(value)
    };
    if valid && value.len() <= 2048 {
        return Ok(());
    }
    Err(Error::new(
        Code::ConfigInvalid,
        format!("{part} is neither a secret's ARN nor a secret name"),
        "give the secret's ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME) or its name \
         (ASCII letters, digits and /_+=.@-!); a URL belongs in DATABASE_URL",
    ))
}

/// An AWS region name: lower-case letters, digits and dashes.
pub fn region(part: &str, value: &str) -> Result<()> {
    let valid = !value.is_empty()
        && value.len() <= 32
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        return Ok(());
    }
    Err(Error::new(
        Code::ConfigInvalid,
        format!("{part} is not an AWS region name"),
        "use the region's code, such as eu-west-1 (lower-case letters, digits and dashes)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_lengths() {
        assert!(no_control_characters("p", "plain p@ss wörd").is_ok());
        for bad in ["a\0b", "a\nb", "a\tb", "\u{7f}", "\u{9b}"] {
            let e = no_control_characters("the password", bad).unwrap_err();
            assert_eq!(e.code, Code::ConfigInvalid);
            assert!(!e.message.contains(bad), "never the value");
        }
        assert!(identifier("r", &"x".repeat(63)).is_ok());
        assert!(identifier("r", &"x".repeat(64)).is_err());
        // Bytes, not characters: 32 two-byte characters are 64 bytes.
        assert!(identifier("r", &"é".repeat(32)).is_err());
        assert!(identifier("r", "").is_err());
    }

    #[test]
    fn hosts_are_names_or_addresses() {
        for good in [
            "localhost",
            "db.example.com",
            "10.0.0.5",
            "::1",
            "[::1]",
            "xn--bcher-kva.example",
        ] {
            assert!(host("the host", good).is_ok(), "{good}");
        }
        for bad in ["", "a b", "a/b", "a@b", "[::1", "h:5432", "a\nb", "%41"] {
            assert!(host("the host", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_ids_are_arns_or_names() {
        for good in [
            "impulse/app",
            "rds!db-0b1c2d3e-aaaa-bbbb-cccc-0123456789ab",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0b1c2d3e-AbCdEf",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:impulse/app-AbCdEf",
            "arn:aws-cn:secretsmanager:cn-north-1:1:secret:x",
        ] {
            assert!(secret_id("the secret id", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "postgresql://u:Pw@h/d",
            "a b",
            "arn:aws:s3:::bucket",
            "arn:aws:secretsmanager:eu-west-1:x:secret:n",
            "a\nb",
        ] {
            let e = secret_id("the secret id", bad).unwrap_err();
            assert!(!e.message.contains("Pw"), "{}", e.message);
        }
    }

    #[test]
    fn system_schemas_are_refused() {
        for schema in [
            "pg_catalog",
            "information_schema",
            "pg_toast",
            "pg_temp_3",
            "pg_x",
            "PG_CATALOG",
        ] {
            let e = managed_schema("the schema", schema).unwrap_err();
            assert_eq!(e.code, Code::ConfigSystemSchema, "{schema}");
        }
        for schema in ["public", "app", "pgx", "Pg", "my_pg_schema"] {
            assert!(managed_schema("the schema", schema).is_ok(), "{schema}");
        }
        let e = managed_schema("the schema", "pg_temp\tx").unwrap_err();
        assert_eq!(e.code, Code::ConfigInvalid);
    }

    #[test]
    fn regions() {
        assert!(region("r", "eu-west-1").is_ok());
        for bad in ["", "eu-west-1\n", "EU-WEST-1", "eu west", &"a".repeat(33)] {
            assert!(region("r", bad).is_err(), "{bad:?}");
        }
    }
}
