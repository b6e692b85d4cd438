//! The database secret's JSON, as AWS rotation templates and RDS write it.
//!
//! Rotation-template secrets hold `host`, `port` (a number or a numeric
//! string), `dbname`, `username`, `password` and `engine`; RDS-managed master
//! secrets (`rds!db-…`) hold only `username` and `password`. Parsing is
//! done by hand over `serde_json::Value` so that no error message can quote
//! a value from the secret.

use crate::error::{Code, Error, Result};
use crate::secret::Secret;

/// A database secret, with the version it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbSecret {
    pub arn: String,
    pub version_id: String,
    pub stage: String,
    pub username: String,
    pub password: Secret,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub dbname: Option<String>,
    pub engine: Option<String>,
}

impl DbSecret {
    /// Parses the `SecretString` of secret `arn`.
    pub fn parse(text: &str, arn: &str, version_id: &str, stage: &str) -> Result<Self> {
        let malformed = |what: &str| {
            Error::new(
                Code::SecretMalformed,
                format!("secret {arn} (version {version_id}, {stage}) {what}"),
                "store a JSON object with at least \"username\" and \"password\" (and \"host\", \
                 \"port\", \"dbname\" unless DATABASE_URL gives them), as RDS and the rotation \
                 templates do",
            )
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|_| malformed("is not JSON"))?;
        let object = value
            .as_object()
            .ok_or_else(|| malformed("is JSON but not an object"))?;
        // A control character (a NUL, a newline) would reach the server or
        // the login packet as it is: the field is refused, by name only.
        let string = |key: &str| -> Result<Option<String>> {
            match object.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) if s.chars().any(char::is_control) => Err(
                    malformed(&format!("has a \"{key}\" with a control character in it")),
                ),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(malformed(&format!("has a \"{key}\" that is not a string"))),
            }
        };
        let username = string("username")?
            .filter(|u| !u.is_empty())
            .ok_or_else(|| malformed("has no \"username\""))?;
        let password = string("password")?.ok_or_else(|| malformed("has no \"password\""))?;
        let port = match object.get("port") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::Number(n)) => Some(
                n.as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| malformed("has a \"port\" that is not a port number"))?,
            ),
            Some(serde_json::Value::String(s)) => Some(
                s.trim()
                    .parse::<u16>()
                    .map_err(|_| malformed("has a \"port\" that is not a port number"))?,
            ),
            Some(_) => return Err(malformed("has a \"port\" that is not a port number")),
        };
        Ok(Self {
            arn: arn.to_string(),
            version_id: version_id.to_string(),
            stage: stage.to_string(),
            username,
            password: Secret::new(password),
            host: string("host")?.filter(|h| !h.is_empty()),
            port,
            dbname: string("dbname")?.filter(|d| !d.is_empty()),
            engine: string("engine")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DbSecret> {
        DbSecret::parse(text, "arn:s", "v1", "AWSCURRENT")
    }

    #[test]
    fn rotation_template_with_string_port() {
        let s = parse(
            r#"{"engine":"postgres","host":"db","port":"6543","dbname":"impulse","username":"impulse_app","password":"p@ss"}"#,
        )
        .unwrap();
        assert_eq!(s.host.as_deref(), Some("db"));
        assert_eq!(s.port, Some(6543));
        assert_eq!(s.dbname.as_deref(), Some("impulse"));
        assert_eq!(s.password.expose(), "p@ss");
        assert_eq!(
            parse(r#"{"username":"u","password":"p","port":5432}"#)
                .unwrap()
                .port,
            Some(5432)
        );
    }

    #[test]
    fn rds_managed_secret_has_only_credentials() {
        let s = parse(r#"{"username":"postgres","password":"x"}"#).unwrap();
        assert_eq!((s.host, s.port, s.dbname), (None, None, None));
    }

    #[test]
    fn malformed_secrets_never_quote_the_value() {
        for text in [
            "SuperSecretValue",
            r#"["SuperSecretValue"]"#,
            r#"{"username":"u"}"#,
            r#"{"password":"SuperSecretValue"}"#,
            r#"{"username":"u","password":"SuperSecretValue","port":"SuperSecretValue"}"#,
            r#"{"username":"u","password":"SuperSecretValue","port":99999}"#,
            r#"{"username":"u","password":7}"#,
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.code, Code::SecretMalformed, "{text}");
            assert!(
                !e.message.contains("SuperSecretValue") && !e.hint.contains("SuperSecretValue")
            );
            assert!(!format!("{e:?}").contains("SuperSecretValue"));
        }
    }
}
