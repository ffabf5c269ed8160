//! Usage errors of the `vyre` command line: every option clap refuses
//! (a conflict, a missing or unknown argument, a bad value) is reported
//! with what is wrong and, on a `Fix:` line, what to do, with exit status
//! 2, as every other bad input of `vyre` is.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};

/// Parses the command line as `P`; help and version print as clap prints
/// them, and every usage error exits with status 2 after clap's message
/// with a `Fix:` line added ([`fix_for`]).
pub(crate) fn parse<P: Parser + CommandFactory>() -> P {
    P::try_parse().unwrap_or_else(|e| exit(e, &P::command()))
}

/// Prints `e` with its `Fix:` line on stderr and exits (status 2); help,
/// version and messages that already hold a `Fix:` (those of [`whole`])
/// go out as clap prints them.
fn exit(e: clap::Error, cmd: &clap::Command) -> ! {
    use std::io::Write;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit()
    }
    let text = e.render().to_string();
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        // `vyre` alone: the help, then what was missing.
        let _ = write!(
            std::io::stderr(),
            "{text}\nerror: no command given\n\nFix: give a command and its arguments, e.g. `{} scan --lines PATH` (`{} help scan` lists its options)\n",
            cmd.get_name(),
            cmd.get_name()
        );
        std::process::exit(2)
    }
    if text.contains("Fix:") {
        e.exit()
    }
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let fix = format!("\n\nFix: {}", fix_for(&e, cmd, &args));
    // After clap's message and tips, before the usage lines.
    let at = ["\n\nUsage:", "\n\nFor more information"]
        .iter()
        .find_map(|end| text.find(end))
        .unwrap_or(text.trim_end().len());
    let (message, rest) = text.split_at(at);
    let _ = write!(std::io::stderr(), "{message}{fix}{rest}");
    std::process::exit(2)
}

/// The argument of an error context: its first word (`--adapters <LIST>`
/// is `--adapters`), each of a list.
fn names(v: Option<&ContextValue>) -> Vec<String> {
    let first = |s: &str| s.split_whitespace().next().unwrap_or(s).to_string();
    match v {
        Some(ContextValue::String(s)) => vec![first(s)],
        Some(ContextValue::Strings(v)) => v.iter().map(|s| first(s)).collect(),
        _ => Vec::new(),
    }
}

/// What to do about usage error `e` of `cmd`, given the command line
/// `args` (without the program name): the specific fix for the relations
/// between options that `vyre` declares, else one built from the error's
/// kind and context.
pub(crate) fn fix_for(e: &clap::Error, cmd: &clap::Command, args: &[String]) -> String {
    let subs: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
    let sub = args
        .iter()
        .find(|a| subs.contains(&a.as_str()))
        .map(|s| format!("{} {s}", cmd.get_name()))
        .unwrap_or_else(|| cmd.get_name().to_string());
    let help = format!("`{sub} --help` lists the options and their values");
    let arg = names(e.get(ContextKind::InvalidArg));
    let prior = names(e.get(ContextKind::PriorArg));
    let has = |v: &[String], name: &str| v.iter().any(|a| a == name);
    match e.kind() {
        ErrorKind::MissingRequiredArgument if has(&arg, "--matches") => {
            "add --matches to print the matches (--max-matches-per-file N only bounds how many per file), or leave out --max-matches-per-file".into()
        }
        ErrorKind::MissingRequiredArgument if has(&arg, "<PATHS>...") => {
            "give at least one file or directory to scan".into()
        }
        ErrorKind::MissingRequiredArgument if has(&arg, "<INPUT>") => {
            "give a text-IR file to compile, or --payload NAME to export a built-in payload".into()
        }
        ErrorKind::MissingRequiredArgument if has(&arg, "--output") => {
            "add -o OUT, the .vir0 file to write".into()
        }
        ErrorKind::MissingRequiredArgument => format!("add {} ({help})", arg.join(" and ")),
        ErrorKind::ArgumentConflict if arg == prior => {
            format!("give {} once", arg.join(" "))
        }
        ErrorKind::ArgumentConflict if has(&arg, "--adapters") || has(&prior, "--adapters") => {
            "give the devices one way: --adapters LIST names every device itself (e.g. `--adapters gpu,native`), so leave out --backend and --adapter with it, or leave out --adapters".into()
        }
        ErrorKind::ArgumentConflict if has(&arg, "--zero-copy") || has(&prior, "--zero-copy") => {
            "leave out --zero-copy: zero-copy is the default, and --no-zero-copy turns it off".into()
        }
        ErrorKind::ArgumentConflict if has(&arg, "--payload") || has(&prior, "--payload") => {
            "give either a text-IR FILE to compile or --payload NAME (a built-in payload), not both".into()
        }
        ErrorKind::ArgumentConflict => format!(
            "give only one of {} and {}",
            arg.join(", "),
            if prior.is_empty() {
                "the options it conflicts with".to_string()
            } else {
                prior.join(", ")
            }
        ),
        ErrorKind::InvalidValue => match e.get(ContextKind::ValidValue) {
            Some(ContextValue::Strings(v)) if !v.is_empty() => {
                format!("pass one of: {}", v.join(", "))
            }
            _ => format!("give {} a value ({help})", arg.join(" ")),
        },
        ErrorKind::UnknownArgument => format!(
            "leave out {} or correct its spelling ({help}; a path or pattern starting with `-` goes after `--`)",
            arg.join(" ")
        ),
        ErrorKind::InvalidSubcommand | ErrorKind::MissingSubcommand => {
            format!("give one of the subcommands {} (`{} --help`)", subs.join(", "), cmd.get_name())
        }
        ErrorKind::InvalidUtf8 => format!(
            "pass this option as UTF-8 text (paths and -e patterns may be any bytes; {help})"
        ),
        _ => format!("correct {} ({help})", match arg.is_empty() {
            true => "the command line".to_string(),
            false => arg.join(" "),
        }),
    }
}

/// A whole number option: digits only, with an error that says what to do
/// (clap reports it with exit status 2).
pub(crate) fn whole<T>(s: &str) -> std::result::Result<T, String>
where
    T: std::str::FromStr + std::fmt::Display + Bounded,
{
    if s.starts_with('-') && s.len() > 1 {
        return Err(format!(
            "`{s}` is negative. Fix: pass a whole number without a sign, within the limits `vyre scan --help` gives"
        ));
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{s}` is not a whole number. Fix: pass digits only (no sign, unit or separator), e.g. 262144"
        ));
    }
    s.parse().map_err(|_| {
        format!(
            "`{s}` is larger than {}. Fix: pass a smaller number (see --help for each option's limits)",
            T::MAX
        )
    })
}

/// The largest value of an integer type, for [`whole`]'s messages.
pub(crate) trait Bounded {
    /// The largest value.
    const MAX: Self;
}
impl Bounded for u32 {
    const MAX: u32 = u32::MAX;
}
impl Bounded for usize {
    const MAX: usize = usize::MAX;
}
