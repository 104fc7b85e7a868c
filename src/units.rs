//! Parsing of sizes, durations and counts, written the way resource tools write them.
//!
//! Sizes: a bare number is bytes; `K`, `M`, `G`, `T`, `P` and `KiB`..`PiB` are powers of 1024
//! (as systemd, util-linux and docker read them); `KB`..`PB` are powers of 1000.
//! Durations: a bare number is seconds (as in `timeout`); `ms`, `s`, `m` (minutes), `h`, `d`
//! and combinations such as `1h30m`. `M` (months) is refused: in a limit it is always a typo.

use std::time::Duration;

use crate::error::Invalid;

/// Parse a size in bytes, e.g. `512M`, `2GiB`, `1.5G`, `100MB`, `4096`.
pub fn parse_size(text: &str) -> Result<u64, Invalid> {
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

fn size_multiplier(unit: &str) -> Option<u64> {
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
pub fn parse_duration(text: &str) -> Result<Duration, Invalid> {
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
pub fn parse_positive_duration(text: &str) -> Result<Duration, Invalid> {
    positive(parse_duration(text)?, text)
}

/// Like [`parse_size`], but zero is refused.
pub fn parse_positive_size(text: &str) -> Result<u64, Invalid> {
    positive(parse_size(text)?, text)
}

/// Like [`parse_count`], but zero is refused.
pub fn parse_positive_count(text: &str) -> Result<u64, Invalid> {
    positive(parse_count(text)?, text)
}

/// A share of one CPU for `--cpu-rate`: `0.5` is half a core, `2` two cores, `50%` half a
/// core. At least 1%, at most 1024 cores.
pub fn parse_cpu_share(text: &str) -> Result<f64, Invalid> {
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
pub fn parse_fraction(text: &str) -> Result<f64, Invalid> {
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
pub fn parse_count(text: &str) -> Result<u64, Invalid> {
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
pub fn format_size(bytes: u64) -> String {
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
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// Show a measured duration to the millisecond: `2s 30ms`, not `2s 30ms 417us 12ns`.
pub fn format_millis(duration: Duration) -> String {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    format_duration(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_powers_of_1024_for_single_letters_and_iec() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("100B"), Ok(100));
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert_eq!(parse_size("100M"), Ok(100 << 20));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        assert_eq!(parse_size("1TiB"), Ok(1 << 40));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("1Mi"), Ok(1 << 20));
    }

    #[test]
    fn sizes_with_b_after_the_prefix_are_decimal() {
        assert_eq!(parse_size("1KB"), Ok(1000));
        assert_eq!(parse_size("1kB"), Ok(1000));
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("3GB"), Ok(3_000_000_000));
        assert_eq!(parse_size("1TB"), Ok(1_000_000_000_000));
    }

    #[test]
    fn bad_sizes_are_refused_with_the_reason() {
        for bad in [
            "", "M", "12Q", "1.5", "-1M", "1..2G", "1 G B", "10MiBs", "abc", "1e3",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(
            parse_size("99999999999P")
                .unwrap_err()
                .0
                .contains("too large")
        );
        assert!(
            parse_size("12Q")
                .unwrap_err()
                .0
                .contains("unknown size unit")
        );
        assert!(parse_size("1.5").unwrap_err().0.contains("fraction"));
    }

    #[test]
    fn bare_numbers_are_seconds_and_fractions_work() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn duration_units_are_ms_s_m_h_d_and_combinations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1h 30m 5s"), Ok(Duration::from_secs(5405)));
        assert_eq!(parse_duration("0.5m"), Ok(Duration::from_secs(30)));
        // Exponents, as GNU timeout reads them.
        assert_eq!(parse_duration("1e3"), Ok(Duration::from_secs(1000)));
        assert_eq!(parse_duration("1.5e1m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("25E-3"), Ok(Duration::from_millis(25)));
    }

    #[test]
    fn a_unit_given_twice_is_refused() {
        assert!(parse_duration("1h1h").unwrap_err().0.contains("'h' twice"));
        assert!(parse_duration("5m 10s 3m").is_err());
        assert_eq!(parse_duration("1h 1m 1s"), Ok(Duration::from_secs(3661)));
    }

    #[test]
    fn exbibytes_are_read_as_they_are_printed() {
        assert_eq!(parse_size("1EiB"), Ok(1 << 60));
        assert_eq!(parse_size("2EB"), Ok(2_000_000_000_000_000_000));
        assert_eq!(format_size(u64::MAX), "16.0 EiB");
        assert!(parse_size("16EiB").unwrap_err().0.contains("too large"));
    }

    #[test]
    fn a_share_is_a_fraction_or_a_percentage() {
        assert_eq!(parse_fraction("0.8"), Ok(0.8));
        assert_eq!(parse_fraction("80%"), Ok(0.8));
        assert!(
            parse_fraction("150%")
                .unwrap_err()
                .0
                .contains("out of range")
        );
        assert!(parse_fraction("lots").is_err());
    }

    #[test]
    fn bad_durations_are_refused() {
        for bad in ["", "-5", "-1s", "5M", "2months", "ten", "5x", "1.2.3", "s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_duration("5M").unwrap_err().0.contains("months"));
        assert!(parse_duration("-5").unwrap_err().0.contains("negative"));
        assert!(
            parse_duration("500000000000y")
                .unwrap_err()
                .0
                .contains("too long")
        );
        assert!(parse_duration("101y").unwrap_err().0.contains("too long"));
        assert!(
            parse_duration("99999999999999d")
                .unwrap_err()
                .0
                .contains("too long")
        );
    }

    #[test]
    fn positive_durations_refuse_zero() {
        assert!(parse_positive_duration("0").unwrap_err().0.contains("zero"));
        assert_eq!(parse_cpu_share("0.5"), Ok(0.5));
        assert_eq!(parse_cpu_share("150%"), Ok(1.5));
        assert!(parse_cpu_share("0").unwrap_err().0.contains("out of range"));
        assert!(parse_cpu_share("nan").is_err());
        assert!(
            parse_cpu_share("half")
                .unwrap_err()
                .0
                .contains("not a number")
        );
        assert!(parse_positive_duration("0s").is_err());
        assert!(parse_positive_duration("0ms").is_err());
        assert_eq!(parse_positive_duration("1ms"), Ok(Duration::from_millis(1)));
    }

    #[test]
    fn counts_are_whole_numbers() {
        assert_eq!(parse_count("128"), Ok(128));
        assert!(parse_count("1.5").is_err());
        assert!(parse_count("-1").is_err());
        assert!(parse_count("1k").is_err());
    }

    #[test]
    fn sizes_and_durations_print_readably() {
        assert_eq!(format_size(512 << 20), "512.0 MiB");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1024), "1.0 KiB");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size((1 << 30) - 1), "1024.0 MiB");
        assert_eq!(format_size(3 << 40), "3.0 TiB");
        assert_eq!(format_size(u64::MAX), "16.0 EiB");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m 30s");
    }
}
