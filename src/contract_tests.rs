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

#[test]
fn the_reference_names_every_command_flag_and_variable() {
    let reference = read("docs/reference.md");
    let cli = Cli::command();
    let mut missing = Vec::new();
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
        if !reference.contains(&format!("### `migrate {name}")) {
            missing.push(format!("section for migrate {name}"));
        }
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long() {
                let flag = format!("--{long}");
                if !reference.contains(&format!("`{flag}")) {
                    missing.push(format!("{name} {flag}"));
                }
            }
        }
    }
    for var in crate::env_vars::ALL {
        if !reference.contains(&format!("`{var}`")) {
            missing.push((*var).to_string());
        }
    }
    assert!(missing.is_empty(), "docs/reference.md lacks: {missing:?}");
}

#[test]
fn the_env_example_lists_every_variable() {
    let example = read(".env.example");
    for var in crate::env_vars::ALL {
        assert!(example.contains(var), "{var}");
    }
}
