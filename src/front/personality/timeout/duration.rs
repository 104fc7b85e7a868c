//! DURATION as GNU `timeout` reads it: a C floating-point number (exponents, any number
//! of digits, hex floats, `inf`) and an optional `s`, `m`, `h` or `d`. Zero is no limit,
//! as is a value too large for any clock; a positive value too small for a double is
//! the shortest time there is.

use std::time::Duration;

/// A DURATION that is not one (GNU: "invalid time interval").
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InvalidInterval;

/// What a DURATION asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interval {
    /// No limit: `0`, or more than a clock can count.
    Never,
    /// This long (at least a nanosecond).
    After(Duration),
}

/// Read `text` as GNU `timeout` reads DURATION.
pub(crate) fn parse(text: &str) -> Result<Interval, InvalidInterval> {
    let (seconds, rest) = c_double(text).ok_or(InvalidInterval)?;
    let unit = match rest {
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(InvalidInterval),
    };
    // NaN and negative values are refused; -0 is 0.
    if seconds.is_nan() || seconds < 0.0 {
        return Err(InvalidInterval);
    }
    Ok(interval(seconds * unit))
}

/// Seconds as an interval, rounded up to the next nanosecond.
fn interval(seconds: f64) -> Interval {
    if seconds == 0.0 {
        return Interval::Never;
    }
    let nanos = (seconds * 1e9).ceil();
    // u64 nanoseconds last 584 years: anything longer is no limit in practice.
    if !nanos.is_finite() || nanos >= 1.8e19 {
        return Interval::Never;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let nanos = (nanos as u64).max(1);
    Interval::After(Duration::from_nanos(nanos))
}

/// The longest prefix of `text` that C's `strtod` reads (in the C locale), and what is
/// left. A value below the smallest double whose digits are not all zero (`1e-5000`)
/// reads as the smallest double of its sign: `timeout` bounds an underflow away from 0.
fn c_double(text: &str) -> Option<(f64, &str)> {
    let start = text.len() - text.trim_start_matches(is_c_space).len();
    let body = &text[start..];
    let (negative, unsigned) = match body.as_bytes().first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    let (magnitude, used) = special(unsigned)
        .or_else(|| hexadecimal(unsigned))
        .or_else(|| decimal(unsigned))?;
    // An underflow is bounded away from zero: 1e-5000 is a nanosecond, -1e-5000 negative.
    let value = match (negative, magnitude) {
        (true, Magnitude::Underflow) => -f64::from_bits(1),
        (true, Magnitude::Value(v)) => -v,
        (false, Magnitude::Underflow) => f64::from_bits(1),
        (false, Magnitude::Value(v)) => v,
    };
    Some((value, &unsigned[used..]))
}

/// What the digits read as.
enum Magnitude {
    /// This value.
    Value(f64),
    /// Zero, though the digits were not all zero: below the least double.
    Underflow,
}

fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// `inf`, `infinity`, `nan`, `nan(chars)`, in any case.
fn special(text: &str) -> Option<(Magnitude, usize)> {
    let lower = text.get(..8.min(text.len()))?.to_ascii_lowercase();
    if lower.starts_with("infinity") {
        return Some((Magnitude::Value(f64::INFINITY), 8));
    }
    if lower.starts_with("inf") {
        return Some((Magnitude::Value(f64::INFINITY), 3));
    }
    if !lower.starts_with("nan") {
        return None;
    }
    let after = &text[3..];
    let parenthesised = after.strip_prefix('(').and_then(|inner| {
        let close = inner.find(')')?;
        inner[..close]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
            .then_some(close + 2)
    });
    Some((Magnitude::Value(f64::NAN), 3 + parenthesised.unwrap_or(0)))
}

/// Digits with an optional point, at least one digit, then an exponent if one follows
/// with digits: `10`, `.5`, `9.999999999`, `2.34e+5`.
fn decimal(text: &str) -> Option<(Magnitude, usize)> {
    let bytes = text.as_bytes();
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let whole = digits(0);
    let mut used = whole;
    let mut fraction = 0;
    if bytes.get(used) == Some(&b'.') {
        fraction = digits(used + 1);
        used += 1 + fraction;
    }
    if whole + fraction == 0 {
        return None;
    }
    used += exponent(&bytes[used..], b'e');
    let number = &text[..used];
    let value: f64 = number.parse().ok()?;
    let mantissa = number.split(['e', 'E']).next().unwrap_or(number);
    Some((magnitude(value, mantissa), used))
}

/// `e`/`p` (either case), a sign, digits: its length, or 0 when no digits follow.
fn exponent(bytes: &[u8], letter: u8) -> usize {
    if bytes.first().map(u8::to_ascii_lowercase) != Some(letter) {
        return 0;
    }
    let signed = usize::from(matches!(bytes.get(1), Some(b'+' | b'-')));
    let digits = bytes[1 + signed..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 { 0 } else { 1 + signed + digits }
}

/// `0x1.8p3`, `0x10`, `0x.8`: hex digits with an optional point, then a binary exponent.
fn hexadecimal(text: &str) -> Option<(Magnitude, usize)> {
    let bytes = text.as_bytes();
    if !(bytes.first() == Some(&b'0') && matches!(bytes.get(1), Some(b'x' | b'X'))) {
        return None;
    }
    let mut used = 2;
    let mut value = 0.0f64;
    let mut scale = 0i64;
    let mut any = false;
    let mut seen_point = false;
    while let Some(&byte) = bytes.get(used) {
        if byte == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(digit) = char::from(byte).to_digit(16) {
            value = value * 16.0 + f64::from(digit);
            scale -= if seen_point { 4 } else { 0 };
            any = true;
        } else {
            break;
        }
        used += 1;
    }
    if !any {
        // "0x" alone: strtod reads the 0 and leaves the x.
        return Some((Magnitude::Value(0.0), 1));
    }
    let length = exponent(&bytes[used..], b'p');
    if length > 0 {
        let power: i64 = text[used + 1..used + length].parse().unwrap_or(i64::MAX);
        scale = scale.saturating_add(power);
    }
    used += length;
    let power = i32::try_from(scale.clamp(-2000, 2000)).unwrap_or(0);
    let result = value * 2f64.powi(power);
    let shown = if value == 0.0 { "0" } else { "1" };
    Some((magnitude(result, shown), used))
}

/// `value` as read from digits whose mantissa is `mantissa`: zero from digits that are not
/// all zero is an underflow.
fn magnitude(value: f64, mantissa: &str) -> Magnitude {
    let nonzero = mantissa.bytes().any(|b| b.is_ascii_digit() && b != b'0');
    if value == 0.0 && nonzero {
        Magnitude::Underflow
    } else {
        Magnitude::Value(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(text: &str) -> Duration {
        match parse(text) {
            Ok(Interval::After(duration)) => duration,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn numbers_and_suffixes_as_gnu_reads_them() {
        assert_eq!(after("10"), Duration::from_secs(10));
        assert_eq!(after("1d"), Duration::from_secs(86400));
        assert_eq!(after("1.5m"), Duration::from_secs(90));
        assert_eq!(after(".5e1s"), Duration::from_secs(5));
        assert_eq!(after("10.34"), Duration::from_millis(10340));
        assert_eq!(after("9.999999999"), Duration::from_nanos(9_999_999_999));
        assert_eq!(after(" +1"), Duration::from_secs(1));
        assert_eq!(after("0x1p-3"), Duration::from_millis(125));
        assert_eq!(after("0x.8"), Duration::from_millis(500));
        assert_eq!(after("0x10"), Duration::from_secs(16));
        assert_eq!(after("2.34e+3d"), Duration::from_secs(202_176_000));
        // 640 years: beyond u64 nanoseconds (584 years), so no limit.
        assert_eq!(parse("2.34e+5d"), Ok(Interval::Never));
        assert_eq!(
            after("1.0000000000000000000000000001"),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn zero_and_the_unrepresentable_are_no_limit() {
        for never in [
            "0",
            "0s",
            "-0",
            "-0.0",
            "0x0",
            "1e400",
            "inf",
            "infinity",
            "99999999999999999999",
            "1e308d",
        ] {
            assert_eq!(parse(never), Ok(Interval::Never), "{never}");
        }
    }

    #[test]
    fn what_underflows_times_out_at_once() {
        for tiny in [
            "1e-5000",
            "1e-10000",
            "1e-320",
            "4.9e-324",
            "0x1p-1074",
            "1e-10",
        ] {
            assert_eq!(after(tiny), Duration::from_nanos(1), "{tiny}");
        }
    }

    #[test]
    fn anything_else_is_invalid() {
        for bad in [
            "",
            "invalid",
            "42D",
            "-1",
            "-inf",
            "nan",
            "1 ",
            "0,5",
            "1e",
            "1e+",
            "0x1p",
            "0x",
            "1ss",
            "s",
            "--1",
            "1.2.3",
            " -0.1",
            " -1e-10000",
            "-1e-5000",
        ] {
            assert_eq!(parse(bad), Err(InvalidInterval), "{bad:?}");
        }
    }
}
