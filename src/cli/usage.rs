//! clap's rejections as the tool's errors: what was typed comes back only
//! as the tool's own words (a URL or a password given in the wrong place
//! must not), and a flag given to a command that does not take it names
//! the commands that do.

use clap::error::{ContextKind, ContextValue, ErrorKind};

use super::Cli;
use crate::error::{Code, Error};

/// Whether the raw command line asks for JSON output (`--format json` or
/// `--format=json`), for errors found before the line could be parsed.
pub fn wants_json(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    args.iter().enumerate().any(|(i, a)| {
        a == "--format=json"
            || (a == "--format" && args.get(i + 1).is_some_and(|next| next == "json"))
    })
}

/// clap's rejection of a command line as an [`Error`]: its first line as
/// the message (anything URL-shaped redacted: a URL given in the wrong
/// place may hold a password), its usage line in the hint.
pub fn usage_error(e: &clap::Error) -> Error {
    let command = <Cli as clap::CommandFactory>::command();
    let known: Vec<&str> = command
        .get_subcommands()
        .flat_map(|c| std::iter::once(c.get_name()).chain(c.get_all_aliases()))
        .collect();
    // What was typed comes back only as the tool's own words: a URL or a
    // password given in the wrong place must not. clap renders the same
    // error again with every typed value replaced (before rendering: clap
    // drops control characters, so the rendered text is not what was typed).
    let flag =
        regex::Regex::new(r"^--?[A-Za-z0-9][A-Za-z0-9-]*( <[A-Z_]+>)?$").expect("static regex");
    let mut shown = clap::Error::new(e.kind()).with_cmd(&command);
    for (kind, value) in e.context() {
        let typed = matches!(
            kind,
            ContextKind::InvalidArg | ContextKind::InvalidValue | ContextKind::InvalidSubcommand
        );
        let value = match value {
            ContextValue::String(v) if typed && !v.is_empty() && !flag.is_match(v) => {
                ContextValue::String(crate::secret::echo(v, &known))
            }
            other => other.clone(),
        };
        let _ = shown.insert(kind, value);
    }
    let mut rendered = shown.render().to_string();
    // The value parser's own words (`99999 is not in 0..=65535`) come from
    // the tool's parsers, which quote numbers at most.
    if let Some(source) = std::error::Error::source(e) {
        let end = rendered.find('\n').unwrap_or(rendered.len());
        rendered.insert_str(end, &format!(": {source}"));
    }
    // clap's message is the paragraph before the usage line.
    let first = rendered
        .split("\n\n")
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let usage = rendered
        .lines()
        .find(|l| l.starts_with("Usage: "))
        .map(|u| format!("{}; ", u.trim()))
        .unwrap_or_default();
    // Anything else clap quotes ('...') that is not a flag is shown only
    // when it is one of the tool's words.
    let quoted = regex::Regex::new(r"'([^']*)'").expect("static regex");
    let message = quoted.replace_all(&first, |c: &regex::Captures| {
        if c[1].starts_with('-') || &c[1] == crate::secret::NOT_SHOWN {
            c[0].to_string()
        } else {
            format!("'{}'", crate::secret::echo(&c[1], &known))
        }
    });
    // clap's suggestion names one of the tool's own commands or flags.
    let suggestion = [ContextKind::SuggestedSubcommand, ContextKind::SuggestedArg]
        .into_iter()
        .find_map(|kind| match e.get(kind) {
            Some(ContextValue::String(s)) => Some(s.clone()),
            Some(ContextValue::Strings(v)) if !v.is_empty() => Some(v.join("` or `")),
            _ => None,
        })
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    let elsewhere = misplaced_flag(e, &command, &usage).unwrap_or_default();
    Error::new(
        Code::UsageInvalid,
        crate::config::redact_urls_in(&message),
        format!(
            "{elsewhere}{suggestion}{usage}see `migrate --help` and `migrate <command> --help`"
        ),
    )
}

/// For a flag the command line put where it is not taken (before the
/// command's name, or on a command that does not use it): the commands
/// that take it. Flags are the tool's own words, so naming one is safe.
fn misplaced_flag(e: &clap::Error, command: &clap::Command, usage: &str) -> Option<String> {
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(typed)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = typed.strip_prefix("--")?.split('=').next()?;
    let takers: Vec<&str> = command
        .get_subcommands()
        .filter(|sub| sub.get_arguments().any(|a| a.get_long() == Some(long)))
        .map(|sub| sub.get_name())
        .collect();
    if takers.is_empty() {
        return None;
    }
    // `Usage: migrate new [OPTIONS] <NAME>`: the command it was given to.
    let given_to = usage
        .trim_start_matches("Usage: migrate ")
        .split_whitespace()
        .next()
        .filter(|word| command.find_subcommand(word).is_some());
    let list = takers.join(", ");
    Some(match given_to {
        Some(sub) => format!(
            "`migrate {sub}` takes no --{long} (it does not use it); the commands that do: {list}; "
        ),
        None => format!(
            "--{long} goes after the command's name (`migrate <command> --{long} ...`); the \
             commands that take it: {list}; "
        ),
    })
}
