//! The verdict, case by case: fact sets in, codes out. Together the cases
//! produce every code of [`PRODUCES`], and a test checks that they do.

use std::collections::BTreeSet;
use std::time::Duration;

use super::*;
use crate::catalog::Difference;
use crate::config::{SecretRef, Which};

fn t<T>(outcome: T) -> Timed<T> {
    Timed::new(outcome, Duration::from_millis(3))
}

fn err(code: Code) -> Error {
    Error::new(code, format!("{code} happened"), format!("fix {code}"))
}

fn secret_ref() -> SecretRef {
    SecretRef {
        id: "app".into(),
        arn: "arn:aws:secretsmanager:eu-west-1:1:secret:app-AbC".into(),
        version_id: "v2".into(),
        stage: "AWSCURRENT".into(),
    }
}

/// A connection whose every step passes.
fn healthy(which: Which) -> ConnectionFacts {
    ConnectionFacts {
        which,
        config: t(Ok(vec!["URL from DATABASE_URL (environment)".into()])),
        url: Some(t(UrlFact::Usable {
            redacted: "postgresql://app:****@db:5432/impulse".into(),
        })),
        secret: Some(t(SecretStep::Resolved(None))),
        dns: Some(t(Ok(vec!["127.0.0.1:5432".parse().unwrap()]))),
        tcp: Some(t(Ok("127.0.0.1:5432".parse().unwrap()))),
        tls: Some(t(Ok(Tls::Encrypted {
            protocol: "TLS 1.3",
        }))),
        login: Some(t(Ok(()))),
        authenticated_after: Some(Duration::from_millis(2)),
        target: Some(Target {
            host: "db".into(),
            user: "app".into(),
            dbname: "impulse".into(),
            sslmode: SslMode::VerifyFull,
        }),
    }
}

/// Where a connection's walk can stop.
#[derive(Clone, Copy)]
enum At {
    Config,
    Url,
    Pooler,
    Fetch,
    Resolve,
    Dns,
    Tcp,
    Tls,
    Login,
}

/// A connection that fails at `at` with `code`.
fn failing(which: Which, at: At, code: Code) -> ConnectionFacts {
    let mut c = healthy(which);
    let e = err(code);
    match at {
        At::Config => {
            c.config = t(Err(e));
            c.url = None;
            c.secret = None;
            c.dns = None;
            c.tcp = None;
            c.tls = None;
            c.login = None;
            c.target = None;
        }
        At::Url | At::Pooler => {
            c.url = Some(t(if matches!(at, At::Pooler) {
                UrlFact::Pooler(e)
            } else {
                UrlFact::Unusable(e)
            }));
            if matches!(at, At::Url) {
                c.secret = None;
                c.dns = None;
                c.tcp = None;
                c.tls = None;
                c.login = None;
                c.target = None;
            }
        }
        At::Fetch | At::Resolve => {
            c.secret = Some(t(if matches!(at, At::Fetch) {
                SecretStep::FetchFailed(e)
            } else {
                SecretStep::ResolveFailed(e)
            }));
            c.dns = None;
            c.tcp = None;
            c.tls = None;
            c.login = None;
            c.target = None;
        }
        At::Dns => {
            c.dns = Some(t(Err(e)));
            c.tcp = None;
            c.tls = None;
            c.login = None;
        }
        At::Tcp => {
            c.tcp = Some(t(Err(e)));
            c.tls = None;
            c.login = None;
        }
        At::Tls => {
            c.tls = Some(t(Err(e)));
            c.login = None;
        }
        At::Login => c.login = Some(t(Err(e))),
    }
    c
}

fn healthy_database() -> DatabaseFacts {
    DatabaseFacts {
        privileges: t(PrivilegeFacts::Plan {
            role: "app".into(),
            missing: vec![],
            excess: vec![],
        }),
        migrations: t(Ok(MigrationFacts {
            applied: 1,
            pending: vec![],
            unknown: vec![],
            ..Default::default()
        })),
        schema: Some(t(Ok(SchemaFacts {
            tables: 1,
            against_applied: vec![],
            against_all: Some(vec![]),
        }))),
    }
}

fn facts(app: ConnectionFacts) -> Facts {
    Facts {
        app,
        migration: Some(healthy(Which::Migration)),
        auth: None,
        database: Some(healthy_database()),
    }
}

fn codes(f: &Facts) -> Vec<Code> {
    verdict(f).1.iter().map(|d| d.code).collect()
}

/// The app's password refused, and what the explanation found.
fn refused(accepted: Option<&'static str>, role: RoleLookup, with_secret: bool) -> Facts {
    let mut f = facts(failing(Which::App, At::Login, Code::AuthPasswordMismatch));
    f.auth = Some(AuthFacts {
        user: "Impulse_App".into(),
        refusal: err(Code::AuthPasswordMismatch),
        secret: with_secret.then(secret_ref),
        accepted: accepted.map(|stage| AcceptedStage {
            stage,
            version_id: "v1".into(),
        }),
        role,
    });
    f
}

fn role(name: &str, exact: bool, expired: bool, iam: bool) -> RoleLookup {
    RoleLookup::Found(RoleFact {
        name: name.into(),
        exact,
        expired_at: expired.then(|| "2001-01-01 00:00 UTC".into()),
        iam,
    })
}

fn difference(path: &str) -> Difference {
    Difference {
        path: path.into(),
        message: "in the migrations, missing in the database".into(),
    }
}

fn with_database(mut f: Facts, change: impl FnOnce(&mut DatabaseFacts)) -> Facts {
    change(f.database.as_mut().unwrap());
    f
}

fn pending(f: &mut DatabaseFacts, names: &[&str]) {
    f.migrations = t(Ok(MigrationFacts {
        applied: 1,
        pending: names.iter().map(|n| n.to_string()).collect(),
        unknown: vec![],
        ..Default::default()
    }));
}

fn schema(f: &mut DatabaseFacts, applied: &[&str], all: Option<&[&str]>) {
    f.schema = Some(t(Ok(SchemaFacts {
        tables: 1,
        against_applied: applied.iter().map(|p| difference(p)).collect(),
        against_all: all.map(|all| all.iter().map(|p| difference(p)).collect()),
    })));
}

/// Every case: its name, its facts, the codes expected in order.
fn cases() -> Vec<(&'static str, Facts, Vec<Code>)> {
    use Code::*;
    let mut cases = vec![("healthy", facts(healthy(Which::App)), vec![])];
    // Any step's error is its diagnosis, at the step where it happens.
    let steps: &[(At, &[Code])] = &[
        (At::Config, &[ConfigMissing, ConfigInvalid]),
        (
            At::Url,
            &[ConfigInvalidUrl, ConfigPlaceholder, ConfigUnencodedPassword],
        ),
        (
            At::Fetch,
            &[
                SecretNotFound,
                SecretAccessDenied,
                SecretMalformed,
                SecretUnavailable,
                SecretError,
                SecretUnreachable,
                AwsNoCredentials,
                ConfigRegionMissing,
            ],
        ),
        (At::Resolve, &[ConfigMissingHost, ConfigMissingUser]),
        (At::Dns, &[DnsUnresolved]),
        (At::Tcp, &[NetworkTimeout, NetworkRefused]),
        (
            At::Tls,
            &[
                TlsUnavailable,
                TlsVerifyFailed,
                NetworkTimeout,
                NetworkError,
                ConnectFailed,
                ConfigInvalidUrl,
            ],
        ),
        (
            At::Login,
            &[
                TlsRequired,
                NetworkTimeout,
                NetworkError,
                AuthNoHbaEntry,
                AuthIamTokenRejected,
                AuthIamRequired,
                DatabaseMissing,
                DatabaseTooManyConnections,
                ConnectFailed,
                ConnectLost,
                QueryFailed,
                PrivilegesMissing,
            ],
        ),
    ];
    for (at, list) in steps {
        for code in *list {
            cases.push((
                "step error",
                facts(failing(Which::App, *at, *code)),
                vec![*code],
            ));
        }
    }
    let mut pooler = facts(healthy(Which::App));
    pooler.migration = Some(failing(
        Which::Migration,
        At::Pooler,
        PoolerMigrationsThroughProxy,
    ));
    cases.push(("pooler", pooler, vec![PoolerMigrationsThroughProxy]));

    // The migration connection's refused password has no explanation of
    // its own: it is diagnosed where it happens.
    let mut migration_refused = facts(healthy(Which::App));
    migration_refused.migration = Some(failing(Which::Migration, At::Login, AuthPasswordMismatch));
    migration_refused.database = None;
    cases.push((
        "migration refused",
        migration_refused,
        vec![AuthPasswordMismatch],
    ));

    cases.extend([
        (
            "rotation incomplete",
            refused(Some("AWSPENDING"), RoleLookup::NotAsked, true),
            vec![SecretRotationIncomplete],
        ),
        (
            "stale",
            refused(Some("AWSPREVIOUS"), RoleLookup::NotAsked, true),
            vec![SecretStale],
        ),
        (
            "nothing to ask through",
            refused(None, RoleLookup::NotAsked, false),
            vec![AuthPasswordMismatch],
        ),
        (
            "role lookup failed",
            refused(None, RoleLookup::Failed(err(QueryFailed)), false),
            vec![AuthPasswordMismatch],
        ),
        (
            "role missing",
            refused(None, RoleLookup::Missing, false),
            vec![AuthRoleMissing],
        ),
        (
            "wrong case",
            refused(None, role("impulse_app", false, false, false), false),
            vec![AuthUsernameCase],
        ),
        (
            "expired",
            refused(None, role("Impulse_App", true, true, false), false),
            vec![AuthPasswordExpired],
        ),
        (
            "IAM only",
            refused(None, role("Impulse_App", true, false, true), false),
            vec![AuthIamRequired],
        ),
        (
            "wrong password",
            refused(None, role("Impulse_App", true, false, false), true),
            vec![AuthPasswordMismatch],
        ),
        (
            "app is the owner",
            with_database(facts(healthy(Which::App)), |d| {
                d.privileges = t(PrivilegeFacts::AppIsMigrationRole {
                    role: "owner".into(),
                })
            }),
            vec![PrivilegesExcess],
        ),
        (
            "missing and excess",
            with_database(facts(healthy(Which::App)), |d| {
                d.privileges = t(PrivilegeFacts::Plan {
                    role: "app".into(),
                    missing: vec!["SELECT on table \"User\"".into()],
                    excess: vec!["TRUNCATE on table \"User\"".into()],
                })
            }),
            vec![PrivilegesMissing, PrivilegesExcess],
        ),
        (
            "pending",
            with_database(facts(healthy(Which::App)), |d| {
                pending(d, &["m2"]);
                schema(d, &[], Some(&["User.nickname"]));
            }),
            vec![MigrationsPending],
        ),
        (
            "unknown rows",
            with_database(facts(healthy(Which::App)), |d| {
                d.migrations = t(Ok(MigrationFacts {
                    applied: 1,
                    pending: vec![],
                    unknown: vec!["m9".into()],
                    ..Default::default()
                }));
                schema(d, &["Post"], None);
            }),
            vec![MigrationsUnknownApplied],
        ),
        (
            "the history is locked by another session",
            with_database(facts(healthy(Which::App)), |d| {
                d.migrations = t(Err(err(LockReadBlocked)));
                d.schema = None;
            }),
            vec![LockReadBlocked],
        ),
        (
            "an app table is locked by another session",
            with_database(facts(healthy(Which::App)), |d| {
                d.schema = Some(t(Err(err(LockReadBlocked))));
            }),
            vec![LockReadBlocked],
        ),
        (
            "the catalog read for privileges is blocked",
            with_database(facts(healthy(Which::App)), |d| {
                d.privileges = t(PrivilegeFacts::Unreadable(err(LockReadBlocked)));
            }),
            vec![LockReadBlocked],
        ),
        (
            "failed run",
            with_database(facts(healthy(Which::App)), |d| {
                d.migrations = t(Ok(MigrationFacts {
                    applied: 1,
                    failed: vec![("m2".into(), "2026-11-29T10:00:00Z".into())],
                    pending: vec!["m3".into()],
                    ..Default::default()
                }));
            }),
            vec![MigrationsFailed, MigrationsPending],
        ),
        (
            "edited",
            with_database(facts(healthy(Which::App)), |d| {
                d.migrations = t(Ok(MigrationFacts {
                    applied: 1,
                    edited: vec![("m1".into(), "aaa".into(), "bbb".into())],
                    ..Default::default()
                }));
            }),
            vec![MigrationsEdited],
        ),
        (
            "not baselined",
            with_database(facts(healthy(Which::App)), |d| {
                d.migrations = t(Ok(MigrationFacts {
                    pending: vec!["m1".into()],
                    not_baselined: vec!["User".into()],
                    ..Default::default()
                }));
            }),
            vec![MigrationsNotBaselined, MigrationsPending],
        ),
        (
            "drift",
            with_database(facts(healthy(Which::App)), |d| {
                schema(d, &["User.name"], Some(&["User.name"]))
            }),
            vec![SchemaDrift],
        ),
    ]);
    cases
}

#[test]
fn each_fact_set_gives_its_codes() {
    for (name, f, expected) in cases() {
        assert_eq!(codes(&f), expected, "{name}");
        let (checks, diagnosis) = verdict(&f);
        let failed = checks.iter().any(|c| c.status == Status::Fail);
        assert_eq!(
            failed,
            !diagnosis.is_empty(),
            "{name}: a failed check iff a diagnosis\n{checks:#?}"
        );
    }
}

#[test]
fn the_cases_produce_every_code_the_doctor_can_report() {
    let produced: BTreeSet<Code> = cases().iter().flat_map(|(_, f, _)| codes(f)).collect();
    let documented: BTreeSet<Code> = PRODUCES.iter().copied().collect();
    assert_eq!(produced, documented);
}

#[test]
fn every_connection_has_every_step_once() {
    for (name, f, _) in cases() {
        let (checks, _) = verdict(&f);
        for connection in ["app", "migration"] {
            let ids: Vec<&str> = checks
                .iter()
                .filter(|c| c.connection == connection)
                .map(|c| c.id)
                .collect();
            assert_eq!(
                ids,
                [
                    "config", "url", "secret", "dns", "tcp", "tls", "auth", "database"
                ],
                "{name}, {connection}"
            );
        }
        let db: Vec<&str> = checks
            .iter()
            .filter(|c| c.connection == "database")
            .map(|c| c.id)
            .collect();
        assert_eq!(db, ["privileges", "migrations", "schema"], "{name}");
    }
}

#[test]
fn a_wrong_case_user_is_not_also_missing_privileges() {
    // Gathering checked the role the user meant; it has what it needs.
    let f = refused(None, role("impulse_app", false, false, false), false);
    let (checks, diagnosis) = verdict(&f);
    assert_eq!(
        diagnosis.iter().map(|d| d.code).collect::<Vec<_>>(),
        [Code::AuthUsernameCase]
    );
    assert!(diagnosis.iter().all(|d| !d.hint.contains("migrate grant")));
    let privileges = checks.iter().find(|c| c.id == "privileges").unwrap();
    assert_eq!(privileges.status, Status::Pass);
}

#[test]
fn what_a_pending_migration_creates_is_not_blamed_on_a_manual_change() {
    // The live schema already has the pending migration's column: it
    // differs from the applied migrations, not from all of them.
    let f = with_database(facts(healthy(Which::App)), |d| {
        pending(d, &["m2_add_nickname"]);
        schema(d, &["User.nickname"], Some(&[]));
    });
    let (_, diagnosis) = verdict(&f);
    let drift = diagnosis
        .iter()
        .find(|d| d.code == Code::SchemaDrift)
        .expect("still a difference to report");
    assert!(
        drift.message.contains("m2_add_nickname"),
        "{}",
        drift.message
    );
    assert!(!drift.hint.contains("by hand"), "{}", drift.hint);

    // A difference nothing explains is still blamed on a manual change.
    let f = with_database(facts(healthy(Which::App)), |d| {
        pending(d, &["m2_add_nickname"]);
        schema(d, &["User.nickname", "User.name"], Some(&["User.name"]));
    });
    let (_, diagnosis) = verdict(&f);
    let drift = diagnosis
        .iter()
        .find(|d| d.code == Code::SchemaDrift)
        .unwrap();
    assert!(drift.hint.contains("by hand"), "{}", drift.hint);
    assert!(drift.message.contains("User.name"), "{}", drift.message);
    assert!(
        drift.message.contains("already has what the pending"),
        "{}",
        drift.message
    );
}

#[test]
fn with_unknown_migrations_the_schema_is_not_judged() {
    let f = with_database(facts(healthy(Which::App)), |d| {
        d.migrations = t(Ok(MigrationFacts {
            applied: 1,
            pending: vec![],
            unknown: vec!["m9_newer".into()],
            ..Default::default()
        }));
        schema(d, &["Post"], None);
    });
    let (checks, diagnosis) = verdict(&f);
    assert!(diagnosis.iter().all(|d| d.code != Code::SchemaDrift));
    let schema = checks.iter().find(|c| c.id == "schema").unwrap();
    assert_eq!(schema.status, Status::Warn);
}

fn app_tls(sslmode: SslMode, negotiated: Tls) -> Check {
    let mut app = healthy(Which::App);
    app.target.as_mut().unwrap().sslmode = sslmode;
    app.tls = Some(t(Ok(negotiated)));
    let (checks, diagnosis) = verdict(&facts(app));
    assert!(diagnosis.is_empty());
    checks
        .into_iter()
        .find(|c| c.connection == "app" && c.id == "tls")
        .unwrap()
}

#[test]
fn an_unverified_certificate_warns_and_disabled_tls_is_named() {
    for mode in [SslMode::Disable, SslMode::Allow] {
        let tls = app_tls(mode, Tls::NotRequested);
        assert_eq!(tls.status, Status::Warn);
        assert!(tls.summary.contains(mode.as_str()), "{}", tls.summary);
        assert!(tls.hint.as_deref().unwrap().contains("verify-full"));
    }
    let tls = app_tls(SslMode::Prefer, Tls::Declined);
    assert_eq!(tls.status, Status::Warn);
    assert!(tls.summary.contains("does not offer"), "{}", tls.summary);
    let encrypted = Tls::Encrypted {
        protocol: "TLS 1.3",
    };
    let tls = app_tls(SslMode::VerifyFull, encrypted);
    assert_eq!(tls.status, Status::Pass);
    assert_eq!(tls.summary, "TLS 1.3, certificate and host name verified");
    // The healthy target is an RDS host: not this machine.
    let tls = app_tls(SslMode::Require, encrypted);
    assert_eq!(tls.status, Status::Warn);
    assert!(tls.summary.contains("not verified"), "{}", tls.summary);
}

#[test]
fn tls_and_the_login_are_timed_apart() {
    let mut app = healthy(Which::App);
    app.tls.as_mut().unwrap().elapsed = Duration::from_millis(7);
    app.login.as_mut().unwrap().elapsed = Duration::from_millis(11);
    let (checks, _) = verdict(&facts(app));
    let ms = |id: &str| {
        checks
            .iter()
            .find(|c| c.connection == "app" && c.id == id)
            .unwrap()
            .elapsed_ms
    };
    // The login is split where the server accepted the credentials (2 ms
    // into it in `healthy`): each step has its own time.
    assert_eq!(ms("tls"), 7.0);
    assert_eq!(ms("auth"), 2.0);
    assert_eq!(ms("database"), 9.0);
}

#[test]
fn a_server_refusing_clear_text_fails_tls_not_auth() {
    let mut app = failing(Which::App, At::Login, Code::TlsRequired);
    app.target.as_mut().unwrap().sslmode = SslMode::Disable;
    app.tls = Some(t(Ok(Tls::NotRequested)));
    let (checks, diagnosis) = verdict(&facts(app));
    assert_eq!(diagnosis[0].code, Code::TlsRequired);
    let status = |id: &str| {
        checks
            .iter()
            .find(|c| c.connection == "app" && c.id == id)
            .unwrap()
            .status
    };
    assert_eq!(status("tls"), Status::Fail);
    assert_eq!(status("auth"), Status::Skip);
}

#[test]
fn unverified_tls_to_another_host_warns_and_loopback_does_not() {
    for (host, mode, status) in [
        (
            "db.abc.eu-west-1.rds.amazonaws.com",
            SslMode::Require,
            Status::Warn,
        ),
        (
            "db.abc.eu-west-1.rds.amazonaws.com",
            SslMode::Prefer,
            Status::Warn,
        ),
        (
            "db.abc.eu-west-1.rds.amazonaws.com",
            SslMode::VerifyFull,
            Status::Pass,
        ),
        ("127.0.0.1", SslMode::Require, Status::Pass),
        ("localhost", SslMode::Prefer, Status::Pass),
        ("::1", SslMode::Require, Status::Pass),
    ] {
        let mut app = healthy(Which::App);
        let target = app.target.as_mut().unwrap();
        target.host = host.into();
        target.sslmode = mode;
        app.tls = Some(t(Ok(Tls::Encrypted {
            protocol: "TLS 1.3",
        })));
        let (checks, diagnosis) = verdict(&facts(app));
        assert!(diagnosis.is_empty(), "a warning, not a diagnosis");
        let tls = checks
            .iter()
            .find(|c| c.connection == "app" && c.id == "tls")
            .unwrap();
        assert_eq!(tls.status, status, "{host} {mode:?}");
    }
}
