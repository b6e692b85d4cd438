//! The opening of `migrate up`: everything a run that finds nothing to do
//! needs, asked in the session's first message.
//!
//! Over a link with latency a run's time is its round trips, and a no-op
//! `up` used to wait for some forty: a dozen statements, each prepared
//! (two round trips) on a pooled connection (a ping each time the pool took
//! it back). The opening goes out with the session's own setup
//! ([`First`]), so a run that finds nothing to do waits for the connection
//! (TLS, SCRAM) and for this one answer, and then ends its session:
//!
//! - with the setup, in its transaction: the first attempt at the locks
//!   ([`lock::attempt_sql`]: `pg_try_advisory_lock`, which never waits);
//! - then, in a transaction of their own, whose snapshot is therefore
//!   taken once the locks are held (whatever the default isolation level),
//!   and whose `lock_timeout` is [`READ_BOUND`]: the role check of the
//!   grants (is the app role the migration role?), the three reads of the
//!   grant state, and last the rows of `_prisma_migrations`. Where that
//!   table does not exist (a first run), that read fails with 42P01, which
//!   the server logs, and nothing before it is lost.
//!
//! The opening is a shortcut, not a second implementation: each statement
//! is the one its module sends on its own, and [`Opening::read`] keeps an
//! answer only where the usual step would have read the same thing under
//! the same locks, that is when the first attempt got every lock. What it
//! could not read (an error, a lock that was busy, a read that would have
//! waited longer than [`READ_BOUND`]) is read again by the usual step, with
//! its full patience and its reporting (`lock.read_blocked` naming the
//! sessions in the way).

use std::time::{Duration, Instant};

use crate::error::Result;
use crate::grants::{self, State, apply::Options};
use crate::history;
use crate::lock::{self, Attempt, Scope};
use crate::session::{self, Batch, First, FirstResults, Session, Slot};

/// The longest a read of the opening waits for another session's table
/// lock before it gives up and leaves the read to the usual step.
pub const READ_BOUND: Duration = Duration::from_millis(100);

/// Where the opening's answers will be.
#[derive(Debug)]
pub struct Opening {
    lock: Slot,
    role: Option<Slot>,
    grants: Option<[Slot; 3]>,
    history: Slot,
}

/// What the opening read, for [`super::apply`].
#[derive(Debug, Default)]
pub struct Read {
    /// The first attempt at the locks, and when its answer came.
    pub lock: Option<(Attempt, Instant)>,
    /// The role check's verdict (`Err`: the refusal).
    pub role: Option<Result<()>>,
    /// The grant state, read under the locks.
    pub grants: Option<State>,
    /// The rows of `_prisma_migrations`, read under the locks.
    pub history: Option<Vec<history::Row>>,
}

impl Opening {
    /// The opening for the managed `schema`, with the grants' reads when
    /// `up` reconciles them.
    pub fn new(schema: &str, grants: Option<&Options>) -> (Opening, First) {
        let mut setup = Batch::new();
        let lock = setup.push(lock::attempt_sql(schema, Scope::WithPrisma));
        let mut then = Batch::new();
        then.push(format!(
            "SET LOCAL lock_timeout = '{}'",
            session::pg_millis(READ_BOUND)
        ));
        let role = grants.map(|o| then.push(grants::apply::migration_role_sql(&o.app_role)));
        let grant_reads = grants.map(|o| {
            grants::introspect::queries(schema, &o.app_role).map(|statement| then.push(statement))
        });
        let history = then.push(history::rows_sql(schema));
        let opening = Opening {
            lock,
            role,
            grants: grant_reads,
            history,
        };
        (opening, First { setup, then })
    }

    /// What of `results` [`super::apply`] can use (see the module's
    /// documentation).
    pub fn read(self, session: &Session, results: &FirstResults, grants: Option<&Options>) -> Read {
        let at = Instant::now();
        let lock = results
            .setup
            .row(self.lock)
            .and_then(|row| Attempt::from_row(row).ok());
        let then = &results.then;
        let role = match (self.role, grants) {
            (Some(slot), Some(options)) => then
                .rows(slot)
                .map(|rows| grants::apply::refusal_from(rows, options)),
            _ => None,
        };
        let mut read = Read {
            lock: lock.map(|attempt| (attempt, at)),
            role,
            grants: None,
            history: None,
        };
        if !lock.is_some_and(|attempt| attempt.got(Scope::WithPrisma)) {
            // Read while another run may have been changing things.
            return read;
        }
        if let (Some([me, app, acls]), Some(options)) = (self.grants, grants)
            && let (Some(me), Some(app), Some(acls)) =
                (then.rows(me), then.rows(app), then.rows(acls))
        {
            read.grants = grants::introspect::state_from(
                session,
                &options.app_role,
                options.iam,
                [me, app, acls],
            )
            .ok();
        }
        read.history = then
            .rows(self.history)
            .and_then(|rows| history::rows_from(rows).ok());
        read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(app_role: &str) -> Options {
        Options {
            app_role: app_role.to_string(),
            iam: false,
            apply: true,
            sync_password: None,
            accept: Default::default(),
        }
    }

    #[test]
    fn the_locks_go_with_the_setup_and_the_history_read_comes_last() {
        let (opening, first) = Opening::new("public", Some(&options("impulse_app")));
        assert_eq!(first.setup.len(), 1);
        assert!(first.setup.text().contains("pg_try_advisory_lock"));
        let then = first.then.text();
        assert!(
            then.starts_with("SET LOCAL lock_timeout = '100ms';"),
            "{then}"
        );
        assert!(
            then.ends_with(&history::rows_sql("public")),
            "the read that may fail is last: {then}"
        );
        assert_eq!(first.then.len(), 6, "{then}");
        assert!(opening.role.is_some() && opening.grants.is_some());

        let (opening, first) = Opening::new("public", None);
        assert_eq!(first.then.len(), 2);
        assert!(opening.role.is_none() && opening.grants.is_none());
    }

    #[test]
    fn names_are_quoted_into_the_statements() {
        let (_, first) = Opening::new("it's \"x\"", Some(&options(r"app'\role")));
        let text = format!("{};{}", first.setup.text(), first.then.text());
        assert!(text.contains(r#"'it''s "x"'"#), "{text}");
        assert!(
            text.contains(r#""it's ""x"""."_prisma_migrations""#),
            "{text}"
        );
        assert!(text.contains(r"E'app''\\role'"), "{text}");
        assert!(!text.contains('$'), "no placeholder left: {text}");
    }
}
