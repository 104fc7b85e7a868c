//! The resources util-linux `prlimit` knows, as it names and describes them, and the
//! limits its options take: `SOFT:HARD`, `SOFT:`, `:HARD`, one value for both, `unlimited`.

/// One resource: its option letter and name, what the table calls it, and its units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Resource {
    /// The short option: `-n`.
    pub(crate) letter: char,
    /// The long option: `--nofile`.
    pub(crate) option: &'static str,
    /// The table's RESOURCE: `NOFILE`.
    pub(crate) name: &'static str,
    /// The table's DESCRIPTION.
    pub(crate) description: &'static str,
    /// The table's UNITS (empty for NICE and RTPRIO).
    pub(crate) units: &'static str,
    /// The kernel's number for it.
    pub(crate) number: libc::__rlimit_resource_t,
}

const fn resource(
    letter: char,
    option: &'static str,
    name: &'static str,
    description: &'static str,
    units: &'static str,
    number: libc::__rlimit_resource_t,
) -> Resource {
    Resource {
        letter,
        option,
        name,
        description,
        units,
        number,
    }
}

/// Every resource, in the table's order (by name).
pub(crate) const ALL: [Resource; 16] = [
    resource(
        'v',
        "as",
        "AS",
        "address space limit",
        "bytes",
        libc::RLIMIT_AS,
    ),
    resource(
        'c',
        "core",
        "CORE",
        "max core file size",
        "bytes",
        libc::RLIMIT_CORE,
    ),
    resource('t', "cpu", "CPU", "CPU time", "seconds", libc::RLIMIT_CPU),
    resource(
        'd',
        "data",
        "DATA",
        "max data size",
        "bytes",
        libc::RLIMIT_DATA,
    ),
    resource(
        'f',
        "fsize",
        "FSIZE",
        "max file size",
        "bytes",
        libc::RLIMIT_FSIZE,
    ),
    resource(
        'x',
        "locks",
        "LOCKS",
        "max number of file locks held",
        "locks",
        libc::RLIMIT_LOCKS,
    ),
    resource(
        'l',
        "memlock",
        "MEMLOCK",
        "max locked-in-memory address space",
        "bytes",
        libc::RLIMIT_MEMLOCK,
    ),
    resource(
        'q',
        "msgqueue",
        "MSGQUEUE",
        "max bytes in POSIX mqueues",
        "bytes",
        libc::RLIMIT_MSGQUEUE,
    ),
    resource(
        'e',
        "nice",
        "NICE",
        "max nice prio allowed to raise",
        "",
        libc::RLIMIT_NICE,
    ),
    resource(
        'n',
        "nofile",
        "NOFILE",
        "max number of open files",
        "files",
        libc::RLIMIT_NOFILE,
    ),
    resource(
        'u',
        "nproc",
        "NPROC",
        "max number of processes",
        "processes",
        libc::RLIMIT_NPROC,
    ),
    resource(
        'm',
        "rss",
        "RSS",
        "max resident set size",
        "bytes",
        libc::RLIMIT_RSS,
    ),
    resource(
        'r',
        "rtprio",
        "RTPRIO",
        "max real-time priority",
        "",
        libc::RLIMIT_RTPRIO,
    ),
    resource(
        'y',
        "rttime",
        "RTTIME",
        "timeout for real-time tasks",
        "microsecs",
        libc::RLIMIT_RTTIME,
    ),
    resource(
        'i',
        "sigpending",
        "SIGPENDING",
        "max number of pending signals",
        "signals",
        libc::RLIMIT_SIGPENDING,
    ),
    resource(
        's',
        "stack",
        "STACK",
        "max stack size",
        "bytes",
        libc::RLIMIT_STACK,
    ),
];

/// One side of a limit as asked: a value, or kept as it is (`SOFT:` keeps the hard one).
pub(crate) type Side = Option<u64>;

/// A limit as an option gives it: `(soft, hard)`, each `None` when kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Asked {
    /// The soft limit, unless kept.
    pub(crate) soft: Side,
    /// The hard limit, unless kept.
    pub(crate) hard: Side,
}

/// Read `SOFT:HARD`, `SOFT:`, `:HARD` or `VALUE` (both). Each value is `unlimited` (or
/// `infinity`), or a number with an optional suffix: `K`, `M`, `G`, `T`, `P`, `E` (and
/// `KiB`...) for powers of 1024, `KB`... for powers of 1000. util-linux 2.38 reads the
/// number and drops such a suffix (`--as=2G` is two bytes); leash takes it.
pub(crate) fn parse_limit(text: &str) -> Option<Asked> {
    match text.split_once(':') {
        Some((soft, hard)) => {
            let side = |s: &str| {
                if s.is_empty() {
                    Some(None)
                } else {
                    value(s).map(Some)
                }
            };
            let asked = Asked {
                soft: side(soft)?,
                hard: side(hard)?,
            };
            (asked.soft.is_some() || asked.hard.is_some()).then_some(asked)
        }
        None => value(text).map(|v| Asked {
            soft: Some(v),
            hard: Some(v),
        }),
    }
}

/// `unlimited`, `infinity`, or a number with an optional size suffix.
fn value(text: &str) -> Option<u64> {
    let text = text.trim_start();
    if text == "unlimited" || text == "infinity" {
        return Some(libc::RLIM_INFINITY);
    }
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let number: u64 = text[..digits].parse().ok()?;
    let suffix = &text[digits..];
    if suffix.is_empty() {
        return Some(number);
    }
    let (letter, rest) = suffix.split_at(1);
    let power = "KMGTPE".find(&letter.to_ascii_uppercase())?;
    let base: u64 = match rest {
        "" | "iB" => 1024,
        "B" => 1000,
        _ => return None,
    };
    let exponent = u32::try_from(power + 1).ok()?;
    number.checked_mul(base.checked_pow(exponent)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_prlimit_reads_them_and_sizes_keep_their_suffix() {
        let both = |v| {
            Some(Asked {
                soft: Some(v),
                hard: Some(v),
            })
        };
        assert_eq!(parse_limit("256"), both(256));
        assert_eq!(parse_limit(" 100"), both(100));
        assert_eq!(parse_limit("unlimited"), both(libc::RLIM_INFINITY));
        assert_eq!(
            parse_limit("100:200"),
            Some(Asked {
                soft: Some(100),
                hard: Some(200)
            })
        );
        assert_eq!(
            parse_limit("100:"),
            Some(Asked {
                soft: Some(100),
                hard: None
            })
        );
        assert_eq!(
            parse_limit(":300"),
            Some(Asked {
                soft: None,
                hard: Some(300)
            })
        );
        assert_eq!(parse_limit("2G"), both(2 << 30));
        assert_eq!(parse_limit("2KiB"), both(2048));
        assert_eq!(parse_limit("1KB"), both(1000));
        assert_eq!(
            parse_limit(":infinity"),
            Some(Asked {
                soft: None,
                hard: Some(libc::RLIM_INFINITY)
            })
        );
        for bad in [
            "",
            ":",
            "abc",
            "-1",
            "2Q",
            "1.5",
            "2GB5",
            "1:2:3",
            "99999999999999999999E",
        ] {
            assert_eq!(parse_limit(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_resource_has_its_own_letter_and_option() {
        for (at, one) in ALL.iter().enumerate() {
            for other in &ALL[at + 1..] {
                assert_ne!(one.letter, other.letter);
                assert_ne!(one.option, other.option);
            }
        }
    }
}
