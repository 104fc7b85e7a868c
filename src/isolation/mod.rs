//! What the session cannot reach outside itself: a Landlock scope (no signal, stop or
//! ptrace of leash or of any process outside the session, no connection to an abstract
//! unix socket made outside it) and a seccomp filter (no terminal injection, no kernel
//! keyrings, userfaultfd or io_uring). Both are prepared here, in leash (the ruleset and
//! the filter's program), and enforced by the child just before exec. Where the machine
//! lacks one, the plan says what is missing and why; without the scope leash at least
//! makes itself non-dumpable, so that the session cannot ptrace it.

mod filter;
mod scope;

use std::fmt;
use std::os::fd::OwnedFd;

use seccompiler::BpfProgram;

use crate::cli::Settings;

pub use filter::REFUSED;

/// The variable a test sets to pretend mechanisms are missing (`landlock`, `seccomp`,
/// comma-separated), to see what leash does on a machine without them. It weakens
/// nothing a caller could not turn off with a flag, and `--explain` names it.
pub const PRETEND_MISSING: &str = "_LEASH_TEST_MISSING";

/// The protections a session gets here.
#[derive(Debug)]
pub struct Isolation {
    /// The Landlock ruleset that scopes the session, ready to be enforced; or why there is
    /// none.
    pub scope: Result<Scope, Missing>,
    /// The seccomp filter's program; or why there is none.
    pub filter: Result<BpfProgram, Missing>,
}

/// A Landlock ruleset that scopes the session.
#[derive(Debug)]
pub struct Scope {
    /// The ruleset (close-on-exec).
    pub ruleset: OwnedFd,
    /// The kernel's Landlock ABI.
    pub abi: i32,
}

/// Why a protection is not held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// `--allow-signals-outside` turned the scope off.
    OptedOut,
    /// The kernel's Landlock has no scopes: the ABI it has (`None`: no Landlock at all).
    NoScopes(Option<i32>),
    /// `--allow-new-privs`, and leash lacks CAP_SYS_ADMIN: Landlock and seccomp need
    /// `no_new_privs` then.
    NewPrivsAllowed,
    /// The seccomp filter cannot be built for this machine.
    NoFilter(String),
    /// [`PRETEND_MISSING`] says so.
    Pretended,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::OptedOut => f.write_str("turned off by --allow-signals-outside"),
            Missing::NoScopes(None) => f.write_str("this kernel has no Landlock"),
            Missing::NoScopes(Some(abi)) => write!(
                f,
                "this kernel's Landlock (ABI {abi}) has no scopes (ABI 6, Linux 6.12)"
            ),
            Missing::NewPrivsAllowed => {
                f.write_str("--allow-new-privs without CAP_SYS_ADMIN (it needs no_new_privs)")
            }
            Missing::NoFilter(why) => write!(f, "no seccomp filter here: {why}"),
            Missing::Pretended => write!(f, "pretended missing by {PRETEND_MISSING}"),
        }
    }
}

impl Isolation {
    /// Prepare the protections for a session of `settings`.
    pub fn prepare(settings: &Settings) -> Isolation {
        let pretended = std::env::var(PRETEND_MISSING).unwrap_or_default();
        let pretend = |what: &str| pretended.split(',').any(|p| p.trim() == what);
        // Landlock and seccomp both need no_new_privs, or CAP_SYS_ADMIN.
        let enforceable = if settings.confinement.allow_new_privs && !may_sys_admin() {
            Err(Missing::NewPrivsAllowed)
        } else {
            Ok(())
        };
        let scope = if settings.allow_signals_outside {
            Err(Missing::OptedOut)
        } else if pretend("landlock") {
            Err(Missing::Pretended)
        } else {
            enforceable.clone().and_then(|()| scope::ruleset())
        };
        let filter = if pretend("seccomp") {
            Err(Missing::Pretended)
        } else {
            enforceable.and_then(|()| filter::program())
        };
        Isolation { scope, filter }
    }
}

fn may_sys_admin() -> bool {
    crate::capability::effective(crate::capability::SYS_ADMIN)
}
