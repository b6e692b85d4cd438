//! impulse-db: the runner behind the `migrate` binary, and a small library.
//!
//! The library's public API is what a Rust service needs to connect to the
//! Impulse database exactly as the Lambda does: [`Connector`] (flags,
//! environment, `.env`, Secrets Manager, RDS IAM tokens, and one retry
//! after a rotated secret), the [`Session`] it opens, and [`Error`] with its
//! stable [`Code`]. [`main_with`] is the binary itself, generic over the
//! migrator so that fixtures can run the same logic with extra migrations.
//! Everything else is internal; the user contract of the binary is in the
//! README and `docs/reference.md`.
//!
//! Data flows one way: flags, environment, `.env`, Secrets Manager and IAM
//! (`aws`) are resolved into a connection that knows where each part came
//! from (`config`, orchestrated by `connector`); a command (`commands`)
//! opens one session (`net`, `session`), takes the migration lock (`lock`)
//! and drives the migrations (`runner`, `history`, `deploy`); the result is
//! a typed report, printed as text or JSON (`output`).

pub(crate) mod aws;
/// Public only for the project's own tests (the Prisma SQL corpus), not a
/// stable API.
#[doc(hidden)]
pub mod catalog;
pub(crate) mod cli;
pub(crate) mod code;
pub(crate) mod codegen;
pub(crate) mod commands;
pub(crate) mod config;
pub(crate) mod connector;
pub(crate) mod deploy;
pub(crate) mod devdb;
pub(crate) mod doctor;
pub(crate) mod env_vars;
pub(crate) mod error;
/// The properties of the input parsers, for the fuzz targets and the
/// property tests; not a stable API.
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod grants;
pub(crate) mod history;
pub(crate) mod lint;
pub(crate) mod lock;
pub(crate) mod migrations;
pub(crate) mod net;
pub(crate) mod output;
/// Public only for the project's own tests (the Prisma SQL corpus), not a
/// stable API.
#[doc(hidden)]
pub mod prisma;
pub(crate) mod runner;
pub(crate) mod scaffold;
pub(crate) mod secret;
pub(crate) mod session;
pub(crate) mod socket_dir;
pub(crate) mod sql;
pub(crate) mod startup;
pub(crate) mod transport;
pub(crate) mod workspace;

#[cfg(test)]
mod contract_tests;

use std::process::ExitCode;

pub use config::{
    ConnFlags, DotEnv, Origin, Resolved, SecretRef, Sourced, Sources, SslMode, Which,
};
pub use connector::Connector;
pub use error::{Code, Error, Exit, Result};
pub use secret::Secret;
pub use session::Session;

/// For the project's own tests and fixtures, not a stable API: the local
/// cluster (the same code as `migrate dev`), the lock key, IAM signing.
#[doc(hidden)]
pub mod testing {
    pub use crate::aws::https_client as aws_https_client;
    pub use crate::aws::iam::auth_token;
    pub use crate::config::ConnSpec;
    pub use crate::devdb::{Cluster, make_certificates, random_token};
    pub use crate::lock::KEY_SQL;
    pub use crate::session::classify::connect_error as classify_connect_error;
}

use clap::Parser;
use migration::prisma::PrismaMigrator;

use crate::cli::Cli;
use crate::output::Ui;

/// Parses the command line, runs the command with migrator `M`, and maps
/// the outcome to an exit status.
pub fn main_with<M: PrismaMigrator>() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    init_tracing(cli.global.quiet, cli.global.verbose);
    let ui = Ui {
        format: cli.global.format,
        quiet: cli.global.quiet,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            ui.error(&error::Error::internal(format!(
                "cannot start the async runtime: {e}"
            )));
            return Exit::Internal.into();
        }
    };
    match runtime.block_on(commands::run::<M>(cli, ui)) {
        Ok(exit) => exit.into(),
        Err(e) => {
            ui.error(&e);
            e.exit().into()
        }
    }
}

/// A command line clap rejects, or `--help` / `--version`. With
/// `--format json` anywhere on the line, a rejected one is the one JSON
/// error document on stdout, as for every other failure.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            Exit::Usage.into()
        } else {
            Exit::Ok.into()
        };
    }
    let json = cli::wants_json(std::env::args_os());
    let ui = Ui {
        format: if json {
            cli::Format::Json
        } else {
            cli::Format::Text
        },
        quiet: false,
    };
    ui.error(&cli::usage_error(e));
    Exit::Usage.into()
}

/// The log on stderr. The AWS SDK's own log (`aws_config`,
/// `aws_smithy_*`, `aws_sdk_*`: a region or credentials chain warning
/// about every source it tried) shows only with `-v`: without it, what
/// matters reaches the user as the command's own one-line error.
fn init_tracing(quiet: bool, verbose: u8) {
    let filter = match (quiet, verbose) {
        (true, _) => "error,aws=off",
        (false, 0) => "warn,impulse_db=info,aws=off",
        (false, 1) => "warn,impulse_db=debug",
        // The driver's own logs, but never sqlx's: its connect options
        // and statements can carry passwords.
        _ => "info,impulse_db=trace,sea_orm=debug,sqlx=warn",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(|| secret::ScrubbedStderr)
        .with_target(false)
        .without_time()
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .try_init();
}

/// A panic is a bug: say so, where, and how to report it, then exit 70.
/// The panic's message is not printed: it could quote a value that holds a
/// secret.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map_or_else(
            || "an unknown place".to_string(),
            |l| format!("{}:{}", l.file(), l.line()),
        );
        eprintln!(
            "error: internal error at {location} (a bug in impulse-db)\n\
             hint: please report it with the command you ran; rerun with -v for more context"
        );
        std::process::exit(Exit::Internal as i32);
    }));
}
