//! Value parsers of the command line that belong to no type of their own: `--env`,
//! `--umask`, `--nice`, `--name`, `--private-tmp`, and the rlimit flags with their
//! resource fixed; and the error for a value that is not text.

use std::ffi::OsString;

use crate::machine::error::{Error, Invalid, UsageError};
use crate::machine::rlimit::{Rlimit, RlimitRequest};

/// `KEY=VALUE` for `--env`.
pub(crate) fn parse_assignment(text: &str) -> Result<(String, String), Invalid> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() && !key.contains('\0') && !value.contains('\0') => {
            Ok((key.to_string(), value.to_string()))
        }
        _ => Err(Invalid(format!("'{text}' is not KEY=VALUE"))),
    }
}

/// A session name for `--name`: shown in `leashctl`'s tables, written into records and
/// into `audit --suggest`'s config, so none that a terminal or a config file would read
/// as more than a name.
pub(crate) fn parse_name(text: &str) -> Result<String, Invalid> {
    if crate::machine::printable::has_controls(text) {
        return Err(Invalid(format!(
            "'{}' holds a control character (a newline, an escape...)",
            crate::machine::printable::printable(text)
        )));
    }
    Ok(text.to_string())
}

/// A tmpfs size for `--private-tmp`: at most 1 EiB. The kernel counts a tmpfs's size in
/// pages rounded up, and a size within a page of 2^64 would round to no limit at all.
pub(crate) fn parse_tmpfs_size(text: &str) -> Result<u64, Invalid> {
    const LARGEST: u64 = 1 << 60;
    let size = crate::machine::units::parse_positive_size(text)?;
    if size > LARGEST {
        return Err(Invalid(format!(
            "'{text}' is more than a tmpfs can be given here (at most 1 EiB)"
        )));
    }
    Ok(size)
}

/// The error for a value that must be text and is not: clap's names no flag.
pub(crate) fn not_utf8(args: &[OsString]) -> Error {
    let mut previous = "";
    for arg in args.iter().skip(1).take_while(|a| *a != "--") {
        if let Some(text) = arg.to_str() {
            previous = text;
            continue;
        }
        let bytes = arg.as_encoded_bytes();
        let flag = if bytes.starts_with(b"--") {
            let name = bytes.split(|b| *b == b'=').next().unwrap_or_default();
            String::from_utf8_lossy(name).into_owned()
        } else {
            previous.to_string()
        };
        return UsageError::NotUtf8 { flag: Some(flag) }.into();
    }
    UsageError::NotUtf8 { flag: None }.into()
}

/// An octal umask for `--umask`.
pub(crate) fn parse_umask(text: &str) -> Result<u32, Invalid> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|mask| *mask <= 0o777)
        .ok_or_else(|| Invalid(format!("'{text}' is not an octal mode from 000 to 777")))
}

/// A niceness increment for `--nice`: a whole number, negative to raise the priority.
pub(crate) fn parse_niceness(text: &str) -> Result<i32, Invalid> {
    text.trim()
        .parse()
        .map_err(|_| Invalid(format!("'{text}' is not a whole number (like 10, or -5)")))
}

pub(crate) fn rlimit_value(
    rlimit: Rlimit,
) -> impl Fn(&str) -> Result<RlimitRequest, Invalid> + Clone {
    move |text| RlimitRequest::parse_value(rlimit, text)
}
