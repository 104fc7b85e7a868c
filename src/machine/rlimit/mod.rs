//! Per-process resource limits (rlimits): their names, values, validation and application.
//!
//! Every resource util-linux `prlimit` knows (`table`) can be set as `NAME=SOFT[:HARD]`. A
//! single value sets both limits (as `prlimit` does); `SOFT:` or `:HARD` leaves the other as
//! it is (`sides`, the grammar the `prlimit` personality reads too).

mod table;

pub(crate) use table::RLIMITS;

use std::fmt;

use nix::libc::{RLIM_INFINITY, rlim_t};
use nix::sys::resource::{Resource, getrlimit, setrlimit};

use crate::machine::error::Invalid;
use crate::machine::units::{
    format_duration, format_size, parse_count, parse_duration, parse_size,
};

/// The unit a resource's limit is counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unit {
    Bytes,
    Seconds,
    Microseconds,
    Count,
}

/// A resource with a per-process limit, named and described as util-linux `prlimit`
/// names and describes it (the table of them all is `table`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rlimit {
    /// `prlimit`'s long option and leash's `--rlimit` name: `nofile`.
    name: &'static str,
    /// `prlimit`'s short option: `n`.
    letter: char,
    /// The RESOURCE column of `prlimit`'s table: `NOFILE`.
    table_name: &'static str,
    /// Its DESCRIPTION column.
    description: &'static str,
    /// Its UNITS column (empty for NICE and RTPRIO).
    units: &'static str,
    resource: Resource,
    unit: Unit,
}

impl Rlimit {
    /// Look a resource up by its `prlimit` name (`nofile`, `as`, ...).
    pub(crate) fn named(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        RLIMITS.iter().copied().find(|r| r.name == name)
    }

    /// The `prlimit` name of the resource.
    pub(crate) fn name(self) -> &'static str {
        self.name
    }

    /// `prlimit`'s short option for it.
    pub(crate) fn letter(self) -> char {
        self.letter
    }

    /// Its name in `prlimit`'s table: `NOFILE`.
    pub(crate) fn table_name(self) -> &'static str {
        self.table_name
    }

    /// What it limits, as `prlimit`'s table says.
    pub(crate) fn description(self) -> &'static str {
        self.description
    }

    /// Its units, as `prlimit`'s table says.
    pub(crate) fn units(self) -> &'static str {
        self.units
    }

    /// The kernel's number for it, for prlimit(2).
    pub(crate) fn number(self) -> libc::__rlimit_resource_t {
        self.resource as libc::__rlimit_resource_t
    }

    /// Parse one limit value in this resource's unit; `unlimited` is allowed.
    fn parse_value(self, text: &str) -> Result<rlim_t, Invalid> {
        let text = text.trim();
        if matches!(text, "unlimited" | "infinity") {
            return Ok(RLIM_INFINITY);
        }
        match self.unit {
            Unit::Bytes => parse_size(text),
            Unit::Count => parse_count(text),
            // RLIMIT_CPU counts whole seconds: round a fraction up so that `0.5` still limits.
            Unit::Seconds => {
                parse_duration(text).map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
            }
            Unit::Microseconds => {
                parse_duration(text).map(|d| d.as_micros().try_into().unwrap_or(RLIM_INFINITY))
            }
        }
    }

    /// Show a value in the resource's unit.
    fn format_value(self, value: rlim_t) -> String {
        if value == RLIM_INFINITY {
            return "unlimited".into();
        }
        match self.unit {
            Unit::Bytes => format_size(value),
            Unit::Count => value.to_string(),
            Unit::Seconds => format_duration(std::time::Duration::from_secs(value)),
            Unit::Microseconds => format_duration(std::time::Duration::from_micros(value)),
        }
    }
}

/// A limit as `prlimit` writes it: `VALUE` for both sides, or `SOFT:HARD` where either
/// side may be empty (kept as it is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sides<'a> {
    /// One value for the soft and the hard limit.
    Both(&'a str),
    /// Each side as written (empty: kept).
    Apart { soft: &'a str, hard: &'a str },
}

/// The sides of a limit as written: the one grammar of `--rlimit`, `--nofile`... and the
/// `prlimit` personality's options (each reads the values in its own way).
pub(crate) fn sides(text: &str) -> Sides<'_> {
    match text.split_once(':') {
        None => Sides::Both(text),
        Some((soft, hard)) => Sides::Apart { soft, hard },
    }
}

/// A requested limit: `None` keeps the limit leash itself runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RlimitRequest {
    /// Which resource.
    pub(crate) rlimit: Rlimit,
    soft: Option<rlim_t>,
    hard: Option<rlim_t>,
}

impl RlimitRequest {
    /// Parse `SOFT[:HARD]` for a known resource: `100M`, `1024:4096`, `10:`, `:unlimited`.
    pub(crate) fn parse_value(rlimit: Rlimit, text: &str) -> Result<Self, Invalid> {
        let optional = |part: &str| -> Result<Option<rlim_t>, Invalid> {
            if part.trim().is_empty() {
                Ok(None)
            } else {
                rlimit.parse_value(part).map(Some)
            }
        };
        let (soft, hard) = match sides(text) {
            Sides::Both(value) => {
                let both = rlimit.parse_value(value)?;
                (Some(both), Some(both))
            }
            Sides::Apart { soft, hard } => (optional(soft)?, optional(hard)?),
        };
        if soft.is_none() && hard.is_none() {
            return Err(Invalid(format!(
                "'{text}' sets neither a soft nor a hard limit"
            )));
        }
        if let (Some(soft), Some(hard)) = (soft, hard)
            && soft > hard
        {
            return Err(Invalid(format!(
                "soft limit {} is above hard limit {}",
                rlimit.format_value(soft),
                rlimit.format_value(hard)
            )));
        }
        Ok(Self { rlimit, soft, hard })
    }

    /// The same value for the soft and the hard limit.
    pub(crate) fn both(rlimit: Rlimit, value: rlim_t) -> Self {
        Self {
            rlimit,
            soft: Some(value),
            hard: Some(value),
        }
    }

    /// Parse `NAME=SOFT[:HARD]` as given to `--rlimit`.
    pub(crate) fn parse_assignment(text: &str) -> Result<Self, Invalid> {
        let (name, value) = text.split_once('=').ok_or_else(|| {
            Invalid(format!(
                "'{text}' is not NAME=SOFT[:HARD] (e.g. nofile=1024)"
            ))
        })?;
        let rlimit = Rlimit::named(name).ok_or_else(|| {
            let names: Vec<_> = RLIMITS.iter().map(|r| r.name).collect();
            Invalid(format!(
                "'{name}' is not a resource (one of {})",
                names.join(", ")
            ))
        })?;
        Self::parse_value(rlimit, value).map_err(|e| Invalid(format!("{name}: {e}")))
    }

    /// Fill in the limits to keep from the current ones and check that the kernel will
    /// accept the result, so that a bad request fails before anything is started.
    /// `may_raise_hard` is asked only when the hard limit would go up.
    pub(crate) fn resolve(
        self,
        may_raise_hard: impl Fn() -> bool,
    ) -> Result<ResolvedRlimit, Invalid> {
        let (current_soft, current_hard) = getrlimit(self.rlimit.resource).map_err(|e| {
            Invalid(format!(
                "cannot read the current {} limit: {e}",
                self.rlimit.name
            ))
        })?;
        let hard = self.hard.unwrap_or(current_hard);
        // Lowering only the hard limit below the current soft one lowers the soft one too.
        let soft = self.soft.unwrap_or(current_soft.min(hard));
        let show = |value| self.rlimit.format_value(value);
        if soft > hard {
            return Err(Invalid(format!(
                "soft limit {} is above the hard limit {}",
                show(soft),
                show(hard)
            )));
        }
        if hard > current_hard && !may_raise_hard() {
            return Err(Invalid(format!(
                "raising the hard limit from {} to {} needs privilege (CAP_SYS_RESOURCE)",
                show(current_hard),
                show(hard)
            )));
        }
        if self.rlimit.resource == Resource::RLIMIT_NOFILE
            && let Some(ceiling) = nr_open()
            && hard > ceiling
        {
            return Err(Invalid(format!(
                "{} is above the system's ceiling fs.nr_open = {ceiling}",
                show(hard)
            )));
        }
        Ok(ResolvedRlimit {
            rlimit: self.rlimit,
            soft,
            hard,
        })
    }
}

/// The kernel refuses RLIMIT_NOFILE above fs.nr_open, even to root.
fn nr_open() -> Option<rlim_t> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A limit ready to be set in the child: both values known and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ResolvedRlimit {
    rlimit: Rlimit,
    soft: rlim_t,
    hard: rlim_t,
}

impl ResolvedRlimit {
    /// A limit leash adds on its own behalf (a backstop for a session limit): never above
    /// the current hard limit, so it cannot fail for want of privilege.
    pub(crate) fn backstop(rlimit: Rlimit, soft: rlim_t, hard: rlim_t) -> nix::Result<Self> {
        let (_, current_hard) = getrlimit(rlimit.resource)?;
        let hard = hard.min(current_hard);
        Ok(Self {
            rlimit,
            soft: soft.min(hard),
            hard,
        })
    }

    /// Set the limit on the calling process. Async-signal-safe: one system call, no
    /// allocation, so it may run between fork and exec.
    pub(crate) fn apply(&self) -> nix::Result<()> {
        setrlimit(self.rlimit.resource, self.soft, self.hard)
    }

    /// The resource this limit is for.
    pub(crate) fn rlimit(&self) -> Rlimit {
        self.rlimit
    }

    /// The soft limit, which the kernel enforces.
    pub(crate) fn soft(&self) -> rlim_t {
        self.soft
    }
}

impl ResolvedRlimit {
    /// The soft and hard limit in the resource's unit: `1.0 MiB:unlimited`.
    pub(crate) fn values(&self) -> String {
        let show = |value| self.rlimit.format_value(value);
        format!("{}:{}", show(self.soft), show(self.hard))
    }
}

impl fmt::Display for ResolvedRlimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.rlimit.name, self.values())
    }
}

/// Whether this process may raise hard limits (CAP_SYS_RESOURCE in its effective set).
pub(crate) fn may_raise_hard_limits() -> bool {
    crate::machine::capability::effective(crate::machine::capability::SYS_RESOURCE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Rlimit {
        Rlimit::named(name).unwrap()
    }

    #[test]
    fn every_prlimit_resource_is_known() {
        for name in [
            "as",
            "core",
            "cpu",
            "data",
            "fsize",
            "locks",
            "memlock",
            "msgqueue",
            "nice",
            "nofile",
            "nproc",
            "rss",
            "rtprio",
            "rttime",
            "sigpending",
            "stack",
        ] {
            assert_eq!(named(name).name(), name);
        }
        assert!(Rlimit::named("bogus").is_none());
        for (at, one) in RLIMITS.iter().enumerate() {
            assert_eq!(one.table_name(), one.name().to_ascii_uppercase());
            for other in &RLIMITS[at + 1..] {
                assert_ne!(one.letter(), other.letter());
                assert_ne!(one.name(), other.name());
            }
        }
    }

    #[test]
    fn one_value_sets_both_limits_in_the_resource_unit() {
        let fsize = RlimitRequest::parse_value(named("fsize"), "100M").unwrap();
        assert_eq!((fsize.soft, fsize.hard), (Some(100 << 20), Some(100 << 20)));
        let cpu = RlimitRequest::parse_assignment("cpu=1m").unwrap();
        assert_eq!((cpu.soft, cpu.hard), (Some(60), Some(60)));
        let cpu = RlimitRequest::parse_assignment("cpu=0.5").unwrap();
        assert_eq!(cpu.soft, Some(1));
        let rttime = RlimitRequest::parse_assignment("rttime=2ms").unwrap();
        assert_eq!(rttime.soft, Some(2000));
        let nofile = RlimitRequest::parse_assignment("NOFILE=64").unwrap();
        assert_eq!(nofile.soft, Some(64));
    }

    #[test]
    fn soft_and_hard_can_be_given_apart() {
        let both = RlimitRequest::parse_assignment("nofile=64:128").unwrap();
        assert_eq!((both.soft, both.hard), (Some(64), Some(128)));
        let soft = RlimitRequest::parse_assignment("nofile=64:").unwrap();
        assert_eq!((soft.soft, soft.hard), (Some(64), None));
        let hard = RlimitRequest::parse_assignment("stack=:unlimited").unwrap();
        assert_eq!((hard.soft, hard.hard), (None, Some(RLIM_INFINITY)));
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let err = |text| RlimitRequest::parse_assignment(text).unwrap_err().0;
        assert!(err("nofile=128:64").contains("above hard limit"));
        assert!(err("bogus=1").contains("not a resource"));
        assert!(err("nofile").contains("NAME=SOFT"));
        assert!(err("nofile=:").contains("neither"));
        assert!(err("nofile=1k").contains("whole number"));
        assert!(err("fsize=12Q").contains("unit"));
    }

    #[test]
    fn resolving_keeps_unset_limits_and_refuses_raising_hard_without_privilege() {
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        let keep_hard = RlimitRequest::parse_assignment("nofile=16:")
            .unwrap()
            .resolve(|| false)
            .unwrap();
        assert_eq!((keep_hard.soft, keep_hard.hard), (16, hard));
        let lower_hard = RlimitRequest::parse_assignment("nofile=:8")
            .unwrap()
            .resolve(|| false)
            .unwrap();
        assert_eq!((lower_hard.soft, lower_hard.hard), (soft.min(8), 8));
        if hard != RLIM_INFINITY {
            let raise = RlimitRequest::parse_assignment(&format!("nofile={}", hard + 1)).unwrap();
            assert!(
                raise
                    .resolve(|| false)
                    .unwrap_err()
                    .0
                    .contains("needs privilege")
            );
        }
    }

    #[test]
    fn resolved_limits_print_in_their_unit() {
        let fsize = RlimitRequest::parse_assignment("fsize=1M:unlimited")
            .unwrap()
            .resolve(|| true)
            .unwrap();
        assert_eq!(fsize.to_string(), "fsize=1.0 MiB:unlimited");
    }
}
