//! The limits the `prlimit` personality's options take: `SOFT:HARD`, `SOFT:`, `:HARD`, one
//! value for both (the grammar of `rlimit::sides`), each `unlimited` or a number. The
//! resources are leash's one table, `rlimit::RLIMITS`.

use crate::machine::rlimit::{Sides, sides};
use crate::machine::units::size_multiplier;

/// One side of a limit as asked: a value, or kept as it is (`SOFT:` keeps the hard one).
pub(crate) type Side = Option<u64>;

/// A limit as an option gives it: `(soft, hard)`, each `None` when kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AskedLimit {
    /// The soft limit, unless kept.
    pub(crate) soft: Side,
    /// The hard limit, unless kept.
    pub(crate) hard: Side,
}

/// Read `SOFT:HARD`, `SOFT:`, `:HARD` or `VALUE` (both). Each value is `unlimited` (or
/// `infinity`), or a number with an optional suffix: `K`, `M`, `G`, `T`, `P`, `E` (and
/// `KiB`...) for powers of 1024, `KB`... for powers of 1000. util-linux 2.38 reads the
/// number and drops such a suffix (`--as=2G` is two bytes); leash takes it.
pub(crate) fn parse_limit(text: &str) -> Option<AskedLimit> {
    match sides(text) {
        Sides::Apart { soft, hard } => {
            let side = |s: &str| {
                if s.is_empty() {
                    Some(None)
                } else {
                    value(s).map(Some)
                }
            };
            let asked = AskedLimit {
                soft: side(soft)?,
                hard: side(hard)?,
            };
            (asked.soft.is_some() || asked.hard.is_some()).then_some(asked)
        }
        Sides::Both(text) => value(text).map(|v| AskedLimit {
            soft: Some(v),
            hard: Some(v),
        }),
    }
}

/// `unlimited`, `infinity` or `-1`, or whole digits (a `+` before them, blanks around
/// them) with an optional size suffix (leash's sizes'), as util-linux reads them.
fn value(text: &str) -> Option<u64> {
    let text = text.trim();
    if text == "unlimited" || text == "infinity" || text == "-1" {
        return Some(libc::RLIM_INFINITY);
    }
    let text = text.strip_prefix('+').unwrap_or(text);
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let number: u64 = text[..digits].parse().ok()?;
    number.checked_mul(size_multiplier(&text[digits..])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_prlimit_reads_them_and_sizes_keep_their_suffix() {
        let both = |v| {
            Some(AskedLimit {
                soft: Some(v),
                hard: Some(v),
            })
        };
        assert_eq!(parse_limit("256"), both(256));
        assert_eq!(parse_limit(" 100"), both(100));
        assert_eq!(parse_limit("5 "), both(5));
        assert_eq!(parse_limit("+5"), both(5));
        assert_eq!(parse_limit("-1"), both(libc::RLIM_INFINITY));
        assert_eq!(parse_limit("unlimited"), both(libc::RLIM_INFINITY));
        assert_eq!(
            parse_limit("100:200"),
            Some(AskedLimit {
                soft: Some(100),
                hard: Some(200)
            })
        );
        assert_eq!(
            parse_limit("100:"),
            Some(AskedLimit {
                soft: Some(100),
                hard: None
            })
        );
        assert_eq!(
            parse_limit(":300"),
            Some(AskedLimit {
                soft: None,
                hard: Some(300)
            })
        );
        assert_eq!(parse_limit("2G"), both(2 << 30));
        assert_eq!(parse_limit("2KiB"), both(2048));
        assert_eq!(parse_limit("1KB"), both(1000));
        assert_eq!(
            parse_limit(":infinity"),
            Some(AskedLimit {
                soft: None,
                hard: Some(libc::RLIM_INFINITY)
            })
        );
        for bad in [
            "",
            ":",
            "abc",
            "-5",
            "2Q",
            "1.5",
            "2GB5",
            "1:2:3",
            "99999999999999999999E",
        ] {
            assert_eq!(parse_limit(bad), None, "{bad:?}");
        }
    }
}
