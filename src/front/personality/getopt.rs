//! GNU `getopt_long`, as `timeout` and `prlimit` read their command lines: short options
//! bundled (`-vk1`), long ones by any unambiguous prefix (`--kill=1`), `--` ending them,
//! and (as both tools ask with `+`) the first operand ending them too; the same messages.

use std::ffi::OsString;
use std::fmt;

/// Whether an option takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Takes {
    /// None: `-v`, `--verbose`.
    Nothing,
    /// Always: `-k 1`, `-k1`, `--kill-after 1`, `--kill-after=1`.
    Value,
    /// Only attached: `-n256`, `--nofile=256`; `-n`, `--nofile` alone have none.
    Optional,
}

/// One option a tool knows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Opt<K> {
    /// Its letter, if it has one.
    pub(crate) short: Option<char>,
    /// Its long name, without `--`.
    pub(crate) long: &'static str,
    /// Whether it takes a value.
    pub(crate) takes: Takes,
    /// What the caller calls it.
    pub(crate) key: K,
}

/// A command line that `getopt_long` refuses, with GNU's words for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `-x` is no option.
    InvalidShort(char),
    /// `--foo` is no option.
    Unrecognized(String),
    /// `--v` is the start of several.
    Ambiguous(String, Vec<&'static str>),
    /// `--verbose=1`.
    NoValueAllowed(&'static str),
    /// `-k` at the end.
    ShortNeedsValue(char),
    /// `--kill-after` at the end.
    LongNeedsValue(&'static str),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::InvalidShort(c) => write!(f, "invalid option -- '{c}'"),
            Refused::Unrecognized(name) => write!(f, "unrecognized option '{name}'"),
            Refused::Ambiguous(name, all) => {
                write!(f, "option '{name}' is ambiguous; possibilities:")?;
                all.iter().try_for_each(|long| write!(f, " '--{long}'"))
            }
            Refused::NoValueAllowed(long) => {
                write!(f, "option '--{long}' doesn't allow an argument")
            }
            Refused::ShortNeedsValue(c) => write!(f, "option requires an argument -- '{c}'"),
            Refused::LongNeedsValue(long) => write!(f, "option '--{long}' requires an argument"),
        }
    }
}

/// The options found, in order, each with its value; and the operands from the first one.
#[derive(Debug)]
pub(crate) struct Parsed<K> {
    /// Each option's key and value.
    pub(crate) options: Vec<(K, Option<String>)>,
    /// The operands: the first one and everything after it.
    pub(crate) operands: Vec<OsString>,
}

/// Read `args` (without the program name) as `getopt_long` with `+`: options until `--`
/// or the first operand.
pub(crate) fn parse<K: Copy>(args: &[OsString], specs: &[Opt<K>]) -> Result<Parsed<K>, Refused> {
    let mut options = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            options.push(long_option(long, specs, &mut rest)?);
        } else if text.len() > 1 && text.starts_with('-') {
            short_options(&text[1..], specs, &mut rest, &mut options)?;
        } else {
            let operands = std::iter::once(arg).chain(rest).cloned().collect();
            return Ok(Parsed { options, operands });
        }
    }
    Ok(Parsed {
        options,
        operands: rest.cloned().collect(),
    })
}

/// `--name`, `--name=value`, or `--name value`, by name or unambiguous prefix.
fn long_option<'a, K: Copy>(
    text: &str,
    specs: &[Opt<K>],
    rest: &mut impl Iterator<Item = &'a OsString>,
) -> Result<(K, Option<String>), Refused> {
    let (name, attached) = match text.split_once('=') {
        Some((name, value)) => (name, Some(value.to_string())),
        None => (text, None),
    };
    let spec = find_long(name, specs)?;
    let value = match (spec.takes, attached) {
        (Takes::Nothing, Some(_)) => return Err(Refused::NoValueAllowed(spec.long)),
        (Takes::Value, None) => Some(
            rest.next()
                .ok_or(Refused::LongNeedsValue(spec.long))?
                .to_string_lossy()
                .into_owned(),
        ),
        (_, attached) => attached,
    };
    Ok((spec.key, value))
}

/// The option `name` is, or starts, alone.
fn find_long<'s, K>(name: &str, specs: &'s [Opt<K>]) -> Result<&'s Opt<K>, Refused> {
    if let Some(exact) = specs.iter().find(|spec| spec.long == name) {
        return Ok(exact);
    }
    let candidates: Vec<&Opt<K>> = specs
        .iter()
        .filter(|spec| !name.is_empty() && spec.long.starts_with(name))
        .collect();
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(Refused::Unrecognized(format!("--{name}"))),
        many => Err(Refused::Ambiguous(
            format!("--{name}"),
            many.iter().map(|spec| spec.long).collect(),
        )),
    }
}

/// A cluster of short options: `-v`, `-vp`, `-k1`, `-vk 1`.
fn short_options<'a, K: Copy>(
    cluster: &str,
    specs: &[Opt<K>],
    rest: &mut impl Iterator<Item = &'a OsString>,
    options: &mut Vec<(K, Option<String>)>,
) -> Result<(), Refused> {
    for (at, letter) in cluster.char_indices() {
        let spec = specs
            .iter()
            .find(|spec| spec.short == Some(letter))
            .ok_or(Refused::InvalidShort(letter))?;
        let attached = &cluster[at + letter.len_utf8()..];
        match spec.takes {
            Takes::Nothing => options.push((spec.key, None)),
            Takes::Optional => {
                options.push((
                    spec.key,
                    Some(attached).filter(|a| !a.is_empty()).map(str::to_string),
                ));
                return Ok(());
            }
            Takes::Value if !attached.is_empty() => {
                options.push((spec.key, Some(attached.to_string())));
                return Ok(());
            }
            Takes::Value => {
                let value = rest.next().ok_or(Refused::ShortNeedsValue(letter))?;
                options.push((spec.key, Some(value.to_string_lossy().into_owned())));
                return Ok(());
            }
        }
    }
    Ok(())
}

/// An option as the man page shows it: long name, letter, value name, help.
pub(crate) type Documented = (
    &'static str,
    Option<char>,
    Option<&'static str>,
    &'static str,
);

/// clap arguments for `options`, for the man page and completions only (`help` and
/// `version` take clap's actions; an option without a value is a flag).
pub(crate) fn documented_args(options: &'static [Documented]) -> impl Iterator<Item = clap::Arg> {
    use clap::{Arg, ArgAction};
    options.iter().map(|&(long, short, value, help)| {
        let arg = Arg::new(long).long(long).help(help);
        let arg = match short {
            Some(letter) => arg.short(letter),
            None => arg,
        };
        match (value, long) {
            (Some(value), _) => arg.value_name(value),
            (None, "help") => arg.action(ArgAction::Help),
            (None, "version") => arg.action(ArgAction::Version),
            (None, _) => arg.action(ArgAction::SetTrue),
        }
    })
}

/// Panics unless `documented` shows exactly the options `specs` reads, with their letters.
#[cfg(test)]
pub(crate) fn assert_documented<K>(specs: &[Opt<K>], documented: &clap::Command) {
    for spec in specs {
        let arg = documented
            .get_arguments()
            .find(|arg| arg.get_long() == Some(spec.long))
            .unwrap_or_else(|| panic!("--{} is not documented", spec.long));
        assert_eq!(arg.get_short(), spec.short, "--{}", spec.long);
    }
    let options = documented
        .get_arguments()
        .filter(|arg| arg.get_long().is_some());
    assert_eq!(options.count(), specs.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: [Opt<char>; 5] = [
        Opt {
            short: Some('k'),
            long: "kill-after",
            takes: Takes::Value,
            key: 'k',
        },
        Opt {
            short: Some('v'),
            long: "verbose",
            takes: Takes::Nothing,
            key: 'v',
        },
        Opt {
            short: None,
            long: "version",
            takes: Takes::Nothing,
            key: 'V',
        },
        Opt {
            short: Some('n'),
            long: "nofile",
            takes: Takes::Optional,
            key: 'n',
        },
        Opt {
            short: Some('p'),
            long: "preserve-status",
            takes: Takes::Nothing,
            key: 'p',
        },
    ];

    type Read = (Vec<(char, Option<String>)>, Vec<String>);

    fn run(line: &str) -> Result<Read, Refused> {
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        parse(&args, &SPECS).map(|parsed| {
            let operands = parsed
                .operands
                .iter()
                .map(|o| o.to_string_lossy().into_owned())
                .collect();
            (parsed.options, operands)
        })
    }

    #[test]
    fn options_end_at_the_first_operand_or_double_dash() {
        let (options, operands) = run("-v 10 -k 1 sleep").unwrap();
        assert_eq!(options, [('v', None)]);
        assert_eq!(operands, ["10", "-k", "1", "sleep"]);
        let (_, operands) = run("-- -v 10").unwrap();
        assert_eq!(operands, ["-v", "10"]);
        let (_, operands) = run("10 -- true").unwrap();
        assert_eq!(operands, ["10", "--", "true"]);
        let (_, operands) = run("- x").unwrap();
        assert_eq!(operands, ["-", "x"]);
    }

    #[test]
    fn values_attach_or_follow() {
        let value = |v: &str| Some(v.to_string());
        assert_eq!(run("-vk1 5").unwrap().0, [('v', None), ('k', value("1"))]);
        assert_eq!(run("-k 1 5").unwrap().0, [('k', value("1"))]);
        assert_eq!(run("--kill=2 5").unwrap().0, [('k', value("2"))]);
        assert_eq!(run("--kill-after 3 5").unwrap().0, [('k', value("3"))]);
        assert_eq!(
            run("-n256 -n --nofile --nofile=7").unwrap().0,
            [
                ('n', value("256")),
                ('n', None),
                ('n', None),
                ('n', value("7")),
            ]
        );
    }

    #[test]
    fn mistakes_are_named_as_getopt_names_them() {
        let refused = |line| run(line).unwrap_err().to_string();
        assert_eq!(refused("-x"), "invalid option -- 'x'");
        assert_eq!(refused("--foo"), "unrecognized option '--foo'");
        assert_eq!(
            refused("--ver"),
            "option '--ver' is ambiguous; possibilities: '--verbose' '--version'"
        );
        assert_eq!(
            refused("--verbose=1"),
            "option '--verbose' doesn't allow an argument"
        );
        assert_eq!(refused("-k"), "option requires an argument -- 'k'");
        assert_eq!(
            refused("--kill-after"),
            "option '--kill-after' requires an argument"
        );
    }
}
