//! `impulse_db::fuzzing::command_line` on any UTF-8 input, read as three
//! sections split by `\u{1}`: the arguments (one per line), the
//! environment (`NAME=value` lines) and the env file's text.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: &str| {
    let mut sections = input.splitn(3, '\u{1}');
    let args: Vec<String> = sections
        .next()
        .unwrap_or("")
        .split('\n')
        .filter(|a| !a.is_empty())
        .map(String::from)
        .collect();
    let env: Vec<(String, String)> = sections
        .next()
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let dotenv = sections.next().unwrap_or("");
    impulse_db::fuzzing::command_line(&args, &env, dotenv, &[]);
});
