//! Applying migrations under the lock, then reconciling the app role's
//! privileges: what `migrate up` and `migrate dev` share.
//!
//! The locks (this tool's and Prisma Migrate's) are taken first and
//! released on every path; a run that changed nothing leaves them to the
//! session's end, which its caller brings about next (see
//! [`MigrationLock::leave_to_session_end`]). `up` asks its first questions
//! in the session's first message ([`opening`]); what that answered is
//! not asked again. A legacy `seaql_migrations` history is converted
//! once, under the locks.
//! The lint findings of the migrations about to be applied are printed as
//! warnings first (they never stop the run: `migrate lint` is the gate),
//! then progress goes to stderr as each migration completes.

use std::time::Duration;

use migration::prisma::PrismaMigrator;

pub mod opening;

use crate::error::Result;
use crate::grants::apply::{Options, Outcome, reconcile_with_progress, refuse_migration_role};
use crate::history::History;
use crate::lock::{self, Scope};
use crate::migrations::{self, Known};
use crate::output::Ui;
use crate::runner::{self, Step};
use crate::session::Session;

/// What a run of `up` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    pub applied: Vec<Step>,
    /// Still pending afterwards, in order (with `--steps`).
    pub pending: Vec<String>,
    pub lock_wait_ms: f64,
    /// What the grant reconciliation found and did (`None` with `--no-grants`).
    pub grants: Option<Outcome>,
}

/// Takes the locks (waiting at most `lock_timeout`), converts a legacy
/// history, applies up to `steps` migrations, reconciles grants when
/// asked, and releases the locks (a run that changed nothing leaves them
/// to the session's end: the caller closes `session` next). `opened` is
/// what the session's first message already read ([`opening`]).
pub async fn apply<M: PrismaMigrator>(
    ui: Ui,
    session: &Session,
    lock_timeout: Duration,
    steps: Option<u32>,
    options: runner::Options,
    grants: Option<&Options>,
    opened: Option<opening::Read>,
) -> Result<Applied> {
    let opening::Read {
        lock: attempt,
        role,
        grants: grant_state,
        history,
    } = opened.unwrap_or_default();
    let checked = match migrations::known::<M>() {
        Ok(known) => match (grants, role) {
            (None, _) => Ok(known),
            (Some(_), Some(checked)) => checked.map(|()| known),
            (Some(options), None) => refuse_migration_role(session, options)
                .await
                .map(|()| known),
        },
        Err(e) => Err(e),
    };
    let known = match checked {
        Ok(known) => known,
        Err(e) => {
            // The opening may hold the locks already.
            if let Some((attempt, _)) = attempt {
                let _ = attempt.held(Scope::WithPrisma).release(session).await;
            }
            return Err(e);
        }
    };
    let lock = match attempt {
        Some((attempt, at)) => {
            lock::acquire_after(session, attempt, at, lock_timeout, Scope::WithPrisma).await?
        }
        None => lock::acquire(session, lock_timeout, Scope::WithPrisma).await?,
    };
    let lock_wait_ms = lock.waited_ms();
    let result = apply_held(
        ui,
        session,
        &known,
        steps,
        options,
        grants,
        Prior {
            history,
            grants: grant_state,
        },
    )
    .await;
    let released = match &result {
        Ok(done) if changed_nothing(&done.applied, done.grants.as_ref()) => {
            lock.leave_to_session_end();
            Ok(())
        }
        _ => lock.release(session).await,
    };
    let applied = result?;
    released?;
    Ok(Applied {
        lock_wait_ms,
        ..applied
    })
}

/// What the session's first message already read under the locks
/// ([`opening`]), so that it is not asked again; `Prior::default()` reads
/// everything.
#[derive(Default)]
pub struct Prior {
    pub history: Option<Vec<crate::history::Row>>,
    pub grants: Option<crate::grants::State>,
}

/// [`apply`]'s work, for a caller that holds the locks (`fresh`, after
/// it dropped everything) and has refused an app role that is the
/// migration role (`refuse_migration_role`).
pub async fn apply_held(
    ui: Ui,
    session: &Session,
    known: &[Known],
    steps: Option<u32>,
    options: runner::Options,
    grants: Option<&Options>,
    prior: Prior,
) -> Result<Applied> {
    let Prior {
        history,
        grants: mut grant_state,
    } = prior;
    let status = match history.filter(|rows| !rows.is_empty()) {
        Some(rows) => runner::plan(known, &History::Prisma(rows), &[]),
        None => {
            // Not read under the locks by the opening: the usual steps
            // (and no grant state from before them either).
            grant_state = None;
            convert_legacy(ui, session, known).await?;
            runner::read_status(session, known).await?
        }
    };
    let (to_apply, _) = runner::to_apply(known, &status, steps, options)?;
    for k in to_apply {
        crate::commands::lint::warn(
            ui,
            &crate::commands::lint::lint_migration(k.name, k.directory.migration_sql),
        );
    }
    let runner::UpOutcome {
        steps: applied,
        pending,
    } = runner::up(session, known, &status, steps, options, &mut |step| {
        ui.progress(format_args!(
            "applied {} ({:.1} ms)",
            step.name,
            step.elapsed.as_secs_f64() * 1e3
        ));
    })
    .await?;
    if !applied.is_empty() {
        grant_state = None;
    }
    let grants = match grants {
        Some(options) => Some(
            lock::reading(
                session,
                reconcile_with_progress(ui, session, options, grant_state.take()),
            )
            .await?,
        ),
        None => None,
    };
    Ok(Applied {
        applied,
        pending,
        lock_wait_ms: 0.0,
        grants,
    })
}

/// Nothing was applied and no grant statement ran: a no-op run, which
/// ends without waiting for an unlock.
fn changed_nothing(applied: &[Step], grants: Option<&Outcome>) -> bool {
    applied.is_empty() && grants.is_none_or(|g| g.executed == 0 && g.password_synced_from.is_none())
}

/// Converts a legacy `seaql_migrations` history and says so; the caller
/// holds the locks.
pub async fn convert_legacy(ui: Ui, session: &Session, known: &[Known]) -> Result<()> {
    if let Some(rows) = runner::convert_legacy(session, known).await? {
        ui.progress(format_args!(
            "converted the old seaql_migrations history ({rows} row(s)) to Prisma's \
             _prisma_migrations, and dropped seaql_migrations"
        ));
    }
    Ok(())
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.applied.len();
        let pending = self.pending.len();
        if n == 0 {
            write!(f, "nothing to apply ({pending} pending)")?;
        } else {
            let s = if n == 1 { "" } else { "s" };
            write!(f, "applied {n} migration{s} ({pending} pending)")?;
        }
        if let Some(grants) = &self.grants {
            match grants.executed {
                0 => write!(
                    f,
                    "; app role \"{}\" already has least privilege",
                    grants.app_role
                )?,
                n => write!(
                    f,
                    "; {n} grant statement(s) for app role \"{}\"",
                    grants.app_role
                )?,
            }
        }
        Ok(())
    }
}
