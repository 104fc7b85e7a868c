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

pub use filter::REFUSED;

/// The variable a test sets to pretend mechanisms are missing (`landlock`, `seccomp`,
/// `userns`, comma-separated), to see what leash does on a machine without them. It weakens
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
    /// How a PID namespace can be made here, or why none can.
    pub namespaces: Result<PidNamespace, Missing>,
    /// The PID namespace the session gets (`--pid-ns`).
    pub pid_ns: Option<PidNamespace>,
}

/// A PID namespace for the session, with leash's init as its PID 1 and its own /proc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PidNamespace {
    /// Made inside a new user namespace that maps the user to itself (without
    /// CAP_SYS_ADMIN); else directly.
    pub in_user_namespace: bool,
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
    /// `--allow-new-privs`, and the command will lack CAP_SYS_ADMIN: Landlock and seccomp
    /// need `no_new_privs` then.
    NewPrivsAllowed,
    /// The seccomp filter cannot be built for this machine.
    NoFilter(String),
    /// No user namespace can be made without privilege here, and leash has none.
    NoUserNamespaces(&'static str),
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
            Missing::NewPrivsAllowed => f.write_str(
                "--allow-new-privs, and the command has no CAP_SYS_ADMIN (it needs no_new_privs)",
            ),
            Missing::NoFilter(why) => write!(f, "no seccomp filter here: {why}"),
            Missing::NoUserNamespaces(why) => write!(
                f,
                "without CAP_SYS_ADMIN it needs a user namespace, and {why}"
            ),
            Missing::Pretended => write!(f, "pretended missing by {PRETEND_MISSING}"),
        }
    }
}

/// What the flags ask of the isolation.
#[derive(Clone, Copy, Debug, Default)]
#[allow(clippy::struct_excessive_bools)] // independent flags, as the command line has them
pub struct Asked {
    /// `--allow-signals-outside`: no Landlock scope.
    pub signals_outside: bool,
    /// `--allow-new-privs`: no `no_new_privs` for the command.
    pub new_privs: bool,
    /// `--user` or `--group`: the command gives up leash's identity (and capabilities)
    /// before it enters the Landlock domain.
    pub changes_identity: bool,
    /// `--pid-ns`.
    pub pid_ns: bool,
}

impl Isolation {
    /// Prepare the protections `asked` for.
    pub fn prepare(asked: Asked) -> Isolation {
        let pretended = std::env::var(PRETEND_MISSING).unwrap_or_default();
        let pretend = |what: &str| pretended.split(',').any(|p| p.trim() == what);
        // Landlock and seccomp both need no_new_privs, or CAP_SYS_ADMIN, which the command
        // no longer has once it took another identity.
        let enforceable = if asked.new_privs && (asked.changes_identity || !may_sys_admin()) {
            Err(Missing::NewPrivsAllowed)
        } else {
            Ok(())
        };
        let scope = if asked.signals_outside {
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
        let namespaces = if may_sys_admin() {
            Ok(PidNamespace {
                in_user_namespace: false,
            })
        } else if pretend("userns") {
            Err(Missing::Pretended)
        } else {
            user_namespaces().map(|()| PidNamespace {
                in_user_namespace: true,
            })
        };
        let pid_ns = asked
            .pid_ns
            .then(|| namespaces.as_ref().ok().copied())
            .flatten();
        Isolation {
            scope,
            filter,
            namespaces,
            pid_ns,
        }
    }
}

/// Whether an unprivileged process may make a user namespace here, as far as the
/// machine's settings tell (the clone itself has the last word).
fn user_namespaces() -> Result<(), Missing> {
    let setting = |path: &str| std::fs::read_to_string(path).map(|s| s.trim().to_string());
    if setting("/proc/sys/user/max_user_namespaces").is_ok_and(|n| n == "0") {
        return Err(Missing::NoUserNamespaces("user.max_user_namespaces is 0"));
    }
    if setting("/proc/sys/kernel/unprivileged_userns_clone").is_ok_and(|n| n == "0") {
        return Err(Missing::NoUserNamespaces(
            "kernel.unprivileged_userns_clone is 0",
        ));
    }
    if setting("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").is_ok_and(|n| n == "1") {
        return Err(Missing::NoUserNamespaces(
            "AppArmor restricts them (kernel.apparmor_restrict_unprivileged_userns is 1)",
        ));
    }
    Ok(())
}

fn may_sys_admin() -> bool {
    crate::capability::effective(crate::capability::SYS_ADMIN)
}
