//! Statements sent together in one simple-query message, and what each
//! returned.
//!
//! Every message the tool waits for costs a round trip, and through a
//! pool a statement costs more than one: a prepared statement is
//! Parse/Describe, then Bind/Execute, and the pool pings the connection
//! each time it takes it back. So the tool's own reads go out as simple
//! queries on the session's held connection ([`super::Session::simple`]),
//! with values quoted into the text by [`crate::sql::quote_literal`] and
//! [`crate::sql::quote_ident`] (never formatted raw), and reads that one
//! step needs together go out as one [`Batch`]: one round trip however
//! many statements.
//!
//! PostgreSQL runs the statements of one message in order, as one implicit
//! transaction unless the message has its own `BEGIN`/`COMMIT`, and after
//! an error skips the rest. [`Results`] keeps what the statements before
//! the error returned, and the error.

use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnection, PgRow};

/// Statements to send as one message, one statement each.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    statements: Vec<String>,
}

/// Where a statement's rows are in the [`Results`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot(usize);

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one statement (without its `;`) and says where its rows will be.
    pub fn push(&mut self, statement: impl Into<String>) -> Slot {
        let statement = statement.into();
        debug_assert_eq!(
            crate::sql::split(&statement).statements.len(),
            1,
            "one statement per push: {statement}"
        );
        self.statements.push(statement);
        Slot(self.statements.len() - 1)
    }

    /// Adds `other`'s statements after these; returns where the first one
    /// landed, for [`Results::split_off`].
    pub fn append(&mut self, other: &Batch) -> usize {
        let at = self.statements.len();
        self.statements.extend(other.statements.iter().cloned());
        at
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// The message's text.
    pub fn text(&self) -> String {
        self.statements.join(";\n")
    }
}

/// What the statements of a batch returned, up to the first error.
#[derive(Debug, Default)]
pub struct Results {
    /// The rows of each statement that completed, in order.
    sets: Vec<Vec<PgRow>>,
    /// The error that ended the batch (the statement after the last set,
    /// or the connection).
    error: Option<sqlx::Error>,
}

impl Results {
    /// The rows of the statement at `slot`, when it completed.
    pub fn rows(&self, slot: Slot) -> Option<&[PgRow]> {
        self.sets.get(slot.0).map(Vec::as_slice)
    }

    /// The first row of the statement at `slot`, when it completed and
    /// returned one.
    pub fn row(&self, slot: Slot) -> Option<&PgRow> {
        self.rows(slot).and_then(<[PgRow]>::first)
    }

    /// The error that ended the batch early, if one did.
    pub fn error(&self) -> Option<&sqlx::Error> {
        self.error.as_ref()
    }

    /// The rows of the statement at `slot`, taken out.
    pub fn take(&mut self, slot: Slot) -> Option<Vec<PgRow>> {
        self.sets.get_mut(slot.0).map(std::mem::take)
    }

    /// A batch that could not be sent at all.
    pub fn failed(error: sqlx::Error) -> Results {
        Results {
            sets: Vec::new(),
            error: Some(error),
        }
    }

    /// Takes the error out (for a caller that reports it).
    pub fn take_error(&mut self) -> Option<sqlx::Error> {
        self.error.take()
    }

    /// The results of the statements from `at` on, as if they had been a
    /// batch of their own (the error goes with them when they did not
    /// all complete).
    pub fn split_off(&mut self, at: usize) -> Results {
        let sets = if at <= self.sets.len() {
            self.sets.split_off(at)
        } else {
            Vec::new()
        };
        let error = if self.sets.len() == at {
            self.error.take()
        } else {
            None
        };
        Results { sets, error }
    }
}

/// Sends `batch` on `conn` and collects the rows of each statement. A
/// statement's end (CommandComplete) closes its set, with or without rows.
pub(crate) async fn run(conn: &mut PgConnection, batch: &Batch) -> Results {
    let mut results = Results::default();
    if batch.is_empty() {
        return results;
    }
    let text = batch.text();
    let mut stream = sqlx::raw_sql(sqlx::AssertSqlSafe(text)).fetch_many(conn);
    let mut current = Vec::new();
    loop {
        match stream.try_next().await {
            Ok(Some(sqlx::Either::Right(row))) => current.push(row),
            Ok(Some(sqlx::Either::Left(_done))) => {
                results.sets.push(std::mem::take(&mut current));
            }
            Ok(None) => break,
            Err(e) => {
                results.error = Some(e);
                break;
            }
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_joined_in_order_and_slots_count_from_zero() {
        let mut batch = Batch::new();
        let a = batch.push("SELECT 1");
        let b = batch.push("SELECT ';'");
        assert_eq!((a, b), (Slot(0), Slot(1)));
        assert_eq!(batch.text(), "SELECT 1;\nSELECT ';'");
        let mut tail = Batch::new();
        tail.push("SELECT 3");
        assert_eq!(batch.append(&tail), 2);
        assert_eq!(batch.len(), 3);
    }

    #[test]
    fn split_off_keeps_the_error_with_the_statements_it_cut_short() {
        let mut results = Results {
            sets: vec![Vec::new(), Vec::new()],
            error: Some(sqlx::Error::PoolClosed),
        };
        let mut tail = results.split_off(1);
        assert!(results.error().is_none());
        assert!(tail.rows(Slot(0)).is_some() && tail.rows(Slot(1)).is_none());
        assert!(tail.take_error().is_some());

        let mut cut_early = Results {
            sets: vec![Vec::new()],
            error: Some(sqlx::Error::PoolClosed),
        };
        let tail = cut_early.split_off(2);
        assert!(tail.rows(Slot(0)).is_none());
        assert!(tail.error().is_none(), "the error belongs to the head");
        assert!(cut_early.error().is_some());
    }
}
