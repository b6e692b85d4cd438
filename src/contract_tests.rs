//! The contract users rely on lives in the repository: the README's code
//! and exit-code tables are generated from [`Code`] and [`Exit`], and
//! `docs/reference.md` names every flag of every command and every
//! variable. These tests fail when the two drift apart;
//! `UPDATE_README=1 cargo test --lib contract` rewrites the tables.

use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Code, Exit};

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `text` with the part between `<!-- {tag}:begin -->` and
/// `<!-- {tag}:end -->` replaced by `body`.
fn with_block(text: &str, tag: &str, body: &str) -> String {
    let begin = format!("<!-- {tag}:begin -->\n");
    let end = format!("<!-- {tag}:end -->");
    let from = text.find(&begin).expect("begin marker") + begin.len();
    let to = text[from..].find(&end).expect("end marker") + from;
    format!("{}{body}{}", &text[..from], &text[to..])
}

#[test]
fn readme_tables_are_the_enums() {
    let readme = read("README.md");
    let expected = with_block(
        &with_block(&readme, "codes", &Code::markdown_table()),
        "exits",
        &Exit::markdown_table(),
    );
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"),
            &expected,
        )
        .expect("write README.md");
        return;
    }
    assert!(
        readme == expected,
        "README.md's code or exit-code table differs from src/code.rs; run \
         UPDATE_README=1 cargo test --lib contract"
    );
}

#[test]
fn every_code_is_in_the_readme_once() {
    let readme = read("README.md");
    for code in Code::ALL {
        let row = format!("\n| `{}` |", code.as_str());
        assert_eq!(readme.matches(&row).count(), 1, "{code}");
    }
}

/// The flags of the shared "Connection flags" table, which a command's
/// section may name by linking it.
const CONNECTION_FLAGS: [&str; 11] = [
    "database-url",
    "secret-id",
    "secret-stage",
    "iam",
    "host",
    "port",
    "user",
    "dbname",
    "region",
    "env-file",
    "no-dotenv",
];

/// The text of the `### `migrate NAME`` section.
fn section<'a>(reference: &'a str, name: &str) -> Option<&'a str> {
    let start = reference.find(&format!("\n### `migrate {name}`"))? + 1;
    let rest = &reference[start..];
    let end = rest[1..].find("\n#").map_or(rest.len(), |i| i + 1);
    Some(&rest[..end])
}

#[test]
fn the_reference_names_every_command_flag_and_variable() {
    let reference = read("docs/reference.md");
    let cli = Cli::command();
    let mut missing = Vec::new();
    let named = regex::Regex::new(r"`--([a-z][a-z-]*)").expect("static regex");
    for arg in cli.get_arguments() {
        if let Some(long) = arg.get_long() {
            let flag = format!("--{long}");
            if !reference.contains(&format!("`{flag}")) {
                missing.push(flag);
            }
        }
    }
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        let Some(text) = section(&reference, name) else {
            missing.push(format!("section for migrate {name}"));
            continue;
        };
        let links_connection = text.contains("[connection flags](#connection-flags)");
        let takes: Vec<&str> = sub
            .get_arguments()
            .filter(|a| !a.is_global_set())
            .filter_map(|a| a.get_long())
            .collect();
        // Every flag it takes is in its section (or in the linked table).
        for long in &takes {
            let shared = CONNECTION_FLAGS.contains(long) && links_connection;
            if !shared && !text.contains(&format!("`--{long}")) {
                missing.push(format!("{name} --{long}"));
            }
        }
        // And its section names no flag it does not take.
        for flag in named.captures_iter(text) {
            let long = &flag[1];
            let global = ["format", "quiet", "verbose", "help"].contains(&long);
            if !global && !takes.contains(&long) {
                missing.push(format!(
                    "{name} does not take --{long}, its section names it"
                ));
            }
        }
        if links_connection {
            for long in CONNECTION_FLAGS {
                if !takes.contains(&long) {
                    missing.push(format!(
                        "{name} links the connection flags without --{long}"
                    ));
                }
            }
        }
    }
    for var in crate::env_vars::ALL {
        if !reference.contains(&format!("`{var}`")) {
            missing.push((*var).to_string());
        }
    }
    assert!(missing.is_empty(), "docs/reference.md: {missing:#?}");
}

#[test]
fn the_env_example_lists_every_variable() {
    let example = read(".env.example");
    for var in crate::env_vars::ALL {
        assert!(example.contains(var), "{var}");
    }
}
