//! Parsing of sizes, durations and counts, written the way resource tools write them.
//!
//! Sizes: a bare number is bytes; `K`, `M`, `G`, `T`, `P` and `KiB`..`PiB` are powers of 1024
//! (as systemd, util-linux and docker read them); `KB`..`PB` are powers of 1000.
//! Durations: a bare number is seconds (as in `timeout`); `ms`, `s`, `m` (minutes), `h`, `d`
//! and combinations such as `1h30m`. `M` (months) is refused: in a limit it is always a typo.

use std::time::Duration;

use crate::machine::error::Invalid;

/// Parse a size in bytes, e.g. `512M`, `2GiB`, `1.5G`, `100MB`, `4096`.
pub(crate) fn parse_size(text: &str) -> Result<u64, Invalid> {
    let text = text.trim();
    let (number, unit) = split_number(text);
    if number.is_empty() {
        return Err(Invalid(format!(
            "'{text}' is not a size (e.g. 512M, 2GiB, 4096)"
        )));
    }
    let multiplier = size_multiplier(unit.trim()).ok_or_else(|| {
        Invalid(format!(
            "'{text}' has an unknown size unit '{unit}' (use K, M, G, T, P, E, KiB.., KB..)"
        ))
    })?;
    if multiplier == 1 && number.contains('.') {
        return Err(Invalid(format!("'{text}' is a fraction of a byte")));
    }
    scale(number, multiplier)?.ok_or_else(|| Invalid(format!("'{text}' is too large")))
}

/// `number * multiplier` in exact integer arithmetic, a fraction rounded to the nearest
/// byte. `Err` if `number` is malformed, `Ok(None)` if the result does not fit.
fn scale(number: &str, multiplier: u64) -> Result<Option<u64>, Invalid> {
    let malformed = || Invalid(format!("'{number}' is not a number"));
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || fraction.contains('.') || fraction.len() > 18 {
        return Err(malformed());
    }
    let whole: u128 = whole.parse().map_err(|_| malformed())?;
    let (numerator, denominator) = if fraction.is_empty() {
        (0, 1)
    } else {
        let digits = u32::try_from(fraction.len()).map_err(|_| malformed())?;
        (
            fraction.parse::<u128>().map_err(|_| malformed())?,
            10u128.pow(digits),
        )
    };
    let multiplier = u128::from(multiplier);
    let Some(whole_bytes) = whole.checked_mul(multiplier) else {
        return Ok(None);
    };
    let bytes = whole_bytes + (numerator * multiplier + denominator / 2) / denominator;
    Ok(u64::try_from(bytes).ok())
}

/// The bytes a size unit stands for: none (bytes), `B`, `K`..`E` or `KiB`.. (powers of
/// 1024), `KB`.. (powers of 1000).
pub(crate) fn size_multiplier(unit: &str) -> Option<u64> {
    let mut chars = unit.chars();
    let Some(prefix) = chars.next() else {
        return Some(1);
    };
    let power = match prefix.to_ascii_uppercase() {
        'B' if chars.as_str().is_empty() => return Some(1),
        'K' => 1,
        'M' => 2,
        'G' => 3,
        'T' => 4,
        'P' => 5,
        'E' => 6,
        _ => return None,
    };
    match chars.as_str() {
        "" | "i" | "iB" | "ib" => Some(1024u64.pow(power)),
        "B" | "b" => Some(1000u64.pow(power)),
        _ => None,
    }
}

/// Parse a duration, e.g. `90s`, `5m`, `1h30m`, `1.5`, `250ms`. Zero is allowed here;
/// callers for which zero makes no sense use [`parse_positive_duration`].
pub(crate) fn parse_duration(text: &str) -> Result<Duration, Invalid> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(Invalid(format!("'{text}' is negative")));
    }
    if text.contains('M') || text.contains("month") {
        return Err(Invalid(format!(
            "'{text}': 'M' would mean months; use m for minutes"
        )));
    }
    if let Some(unit) = repeated_unit(text) {
        return Err(Invalid(format!("'{text}' gives '{unit}' twice")));
    }
    let duration = match parse_simple_duration(text) {
        Some(duration) => duration?,
        None => humantime::parse_duration(text).map_err(|e| {
            Invalid(format!(
                "'{text}' is not a duration (e.g. 90s, 5m, 1h30m, 1.5): {e}"
            ))
        })?,
    };
    if duration > LONGEST_DURATION {
        return Err(Invalid(format!("'{text}' is too long (at most 100 years)")));
    }
    Ok(duration)
}

/// A unit that a combined duration (`1h30m`) gives twice (`1h1h`), which is a typo more
/// often than a sum.
fn repeated_unit(text: &str) -> Option<&str> {
    let units: Vec<&str> = text
        .split(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
        .filter(|unit| !unit.is_empty())
        .collect();
    units
        .iter()
        .enumerate()
        .find(|(at, unit)| units[..*at].contains(unit))
        .map(|(_, unit)| *unit)
}

/// Longer than any session; keeps deadlines far from where the clock overflows.
const LONGEST_DURATION: Duration = Duration::from_secs(100 * 365 * 86400);

/// The forms GNU `timeout` reads: a number, possibly fractional, with at most one of
/// the suffixes `s`, `m`, `h`, `d` (and `ms`). Other forms go to humantime.
fn parse_simple_duration(text: &str) -> Option<Result<Duration, Invalid>> {
    let (number, unit) = split_exponent_number(text);
    if number.is_empty() {
        return None;
    }
    let seconds_per_unit = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return None,
    };
    let value: f64 = match number.parse() {
        Ok(value) => value,
        Err(_) => return Some(Err(Invalid(format!("'{text}' is not a number")))),
    };
    Some(
        Duration::try_from_secs_f64(value * seconds_per_unit)
            .map_err(|_| Invalid(format!("'{text}' is too long"))),
    )
}

/// Like [`parse_duration`], but zero is refused.
pub(crate) fn parse_positive_duration(text: &str) -> Result<Duration, Invalid> {
    positive(parse_duration(text)?, text)
}

/// Like [`parse_size`], but zero is refused.
pub(crate) fn parse_positive_size(text: &str) -> Result<u64, Invalid> {
    positive(parse_size(text)?, text)
}

/// Like [`parse_count`], but zero is refused.
pub(crate) fn parse_positive_count(text: &str) -> Result<u64, Invalid> {
    positive(parse_count(text)?, text)
}

/// A share of one CPU for `--cpu-rate`: `0.5` is half a core, `2` two cores, `50%` half a
/// core. At least 1%, at most 1024 cores.
pub(crate) fn parse_cpu_share(text: &str) -> Result<f64, Invalid> {
    let trimmed = text.trim();
    let (number, scale) = match trimmed.strip_suffix('%') {
        Some(percent) => (percent.trim(), 100.0),
        None => (trimmed, 1.0),
    };
    let share = number
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| {
            Invalid(format!(
                "'{trimmed}' is not a number of CPUs (like 0.5, 2 or 50%)"
            ))
        })?
        / scale;
    if !(0.01..=1024.0).contains(&share) {
        return Err(Invalid(format!(
            "'{trimmed}' is out of range: from 0.01 (1% of one CPU) to 1024 CPUs"
        )));
    }
    Ok(share)
}

/// A share of a limit for `--warn`: above 0, at most 1 (`0.8` or `80%`).
pub(crate) fn parse_fraction(text: &str) -> Result<f64, Invalid> {
    let trimmed = text.trim();
    let (number, scale) = match trimmed.strip_suffix('%') {
        Some(percent) => (percent.trim(), 100.0),
        None => (trimmed, 1.0),
    };
    let share: f64 = number
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite())
        .ok_or_else(|| Invalid(format!("'{trimmed}' is not a fraction (like 0.8 or 80%)")))?
        / scale;
    if share <= 0.0 || share > 1.0 {
        return Err(Invalid(format!(
            "'{trimmed}' is out of range: above 0, at most 1"
        )));
    }
    Ok(share)
}

/// Refuse zero for a limit: a limit of nothing would stop the command before it ran.
fn positive<T: PartialEq + Default>(value: T, text: &str) -> Result<T, Invalid> {
    if value == T::default() {
        return Err(Invalid(format!(
            "'{}' is zero; a limit must be positive",
            text.trim()
        )));
    }
    Ok(value)
}

/// Parse a plain count such as a number of files or processes.
pub(crate) fn parse_count(text: &str) -> Result<u64, Invalid> {
    let text = text.trim();
    text.parse()
        .map_err(|_| Invalid(format!("'{text}' is not a whole number")))
}

/// Split `1.5e3s` into `("1.5e3", "s")`: a decimal number with an optional exponent, as
/// GNU `timeout` reads them, and what follows.
fn split_exponent_number(text: &str) -> (&str, &str) {
    let (mantissa, rest) = split_number(text);
    let exponent = rest
        .strip_prefix(['e', 'E'])
        .map(|e| e.strip_prefix(['+', '-']).unwrap_or(e))
        .filter(|digits| digits.starts_with(|c: char| c.is_ascii_digit()));
    match exponent {
        Some(digits) if !mantissa.is_empty() => {
            let length = digits.len()
                - digits
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            let end = text.len() - digits.len() + length;
            text.split_at(end)
        }
        _ => (mantissa, rest),
    }
}

/// Split `12.5GiB` into `("12.5", "GiB")`.
fn split_number(text: &str) -> (&str, &str) {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    text.split_at(end)
}

/// Show a byte count the way the user would write it: `512.0 MiB`, `100 B`.
pub(crate) fn format_size(bytes: u64) -> String {
    // Whole powers of 1024 by integer comparison: no logarithm, so no libm to load at
    // every start (bytesize's display takes f64::ln).
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit = 0;
    while unit + 1 < UNITS.len() && bytes >> (10 * (unit + 2)) > 0 {
        unit += 1;
    }
    #[allow(clippy::cast_precision_loss)] // one decimal is shown
    let value = bytes as f64 / (1u64 << (10 * (unit + 1))) as f64;
    format!("{value:.1} {}", UNITS[unit])
}

/// Show a duration compactly: `10s`, `1m 30s`, `250ms`.
pub(crate) fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// Show a measured duration to the millisecond: `2s 30ms`, not `2s 30ms 417us 12ns`.
pub(crate) fn format_millis(duration: Duration) -> String {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    format_duration(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests;
