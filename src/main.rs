//! The `migrate` binary: impulse-db's runner with the project's migrations.

use std::process::ExitCode;

fn main() -> ExitCode {
    impulse_db::main_with::<migration::Migrator>()
}
