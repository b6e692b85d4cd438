//! impulse-db: the runner behind the `migrate` binary.
//!
//! Data flows one way: flags, environment, `.env`, Secrets Manager and IAM
//! (`aws`) are resolved into a connection that knows where each part came
//! from (`config`, orchestrated by `connector`); a command
//! (`commands`) opens one session (`connect`), takes the migration lock
//! (`lock`) and drives the migrations (`runner`, `history`); the result is
//! reported as text or JSON (`output`). `main_with` is generic over the
//! migrator so that tests can run the same binary logic with fixture
//! migrations.

pub mod aws;
pub mod catalog;
pub mod cli;
pub mod codegen;
pub mod commands;
pub mod config;
pub mod connect;
pub mod connector;
pub mod devdb;
pub mod doctor;
pub mod env_vars;
pub mod error;
pub mod grants;
pub mod history;
pub mod lint;
pub mod lock;
pub mod output;
pub mod prisma;
pub mod runner;
pub mod secret;
pub mod sql;

use std::process::ExitCode;

pub use config::Which;
pub use connector::Connector;

use clap::Parser;
use sea_orm_migration::MigratorTrait;

use crate::cli::Cli;
use crate::error::Exit;
use crate::output::Ui;

/// Parses the command line, runs the command with migrator `M`, and maps
/// the outcome to an exit status.
pub fn main_with<M: MigratorTrait>() -> ExitCode {
    install_panic_hook();
    let cli = Cli::parse();
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
            e.exit.into()
        }
    }
}

fn init_tracing(quiet: bool, verbose: u8) {
    let filter = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn,impulse_db=info",
        (false, 1) => "warn,impulse_db=debug",
        // The driver's own logs, but never sqlx's: its connect options
        // and statements can carry passwords.
        _ => "info,impulse_db=trace,sea_orm=debug,sqlx=warn",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
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
