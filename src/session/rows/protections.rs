//! The protection rows: what keeps the session from reaching outside itself (signals,
//! abstract sockets, system calls, PID namespace, network, writes, reads, private /tmp),
//! each with its mechanism here, or why there is none.

use std::path::PathBuf;

use serde_json::Value;

use super::{Protection, RowName, Rows};
use crate::machine::units::format_size;
use crate::session::isolation::{
    Access, DEVICES, Isolation, Namespaces, NetworkHold, REFUSED, Scope, Writes,
};

/// Every protection row.
pub(super) fn rows(rows: &mut Rows, isolation: &Isolation) {
    scope_rows(rows, isolation);
    let syscalls = match &isolation.filter {
        Ok(_) => format!("seccomp filter: {REFUSED} refused (EPERM)"),
        Err(why) => why.to_string(),
    };
    let value = if isolation.filter.is_ok() {
        "filtered"
    } else {
        "not held"
    };
    add(rows, Protection::Syscalls, value, syscalls);
    pid_namespace_row(rows, isolation);
    network_row(rows, isolation);
    writes_row(rows, isolation);
    reads_row(rows, isolation);
    private_tmp_row(rows, isolation);
}

fn add(rows: &mut Rows, protection: Protection, value: impl Into<String>, how: String) {
    rows.add(
        RowName::Protection(protection),
        value.into(),
        (Value::Null, ""),
        how,
    );
}

/// Signals and abstract sockets: the Landlock scope.
fn scope_rows(rows: &mut Rows, isolation: &Isolation) {
    let (signals, sockets) = match &isolation.scope {
        Ok(Scope { abi, .. }) => (
            format!(
                "Landlock scope (ABI {abi}): no signal to leash or to any process outside \
                 the session, and no ptrace of one"
            ),
            format!(
                "Landlock scope (ABI {abi}): no connection to an abstract unix socket made \
                 outside the session"
            ),
        ),
        Err(why) => (
            format!(
                "{why}; leash is non-dumpable (no ptrace of it), but the session \
                 can signal it and your other processes"
            ),
            why.to_string(),
        ),
    };
    let value = if isolation.scope.is_ok() {
        "contained"
    } else {
        "not held"
    };
    add(rows, Protection::Signals, value, signals);
    add(rows, Protection::AbstractSockets, value, sockets);
}

/// How namespaces are made here.
fn made(ns: Namespaces) -> &'static str {
    if ns.in_user_namespace {
        "in a user namespace that maps you to yourself"
    } else {
        "made directly (CAP_SYS_ADMIN)"
    }
}

/// Whether the session has a PID namespace of its own, or could have.
fn pid_namespace_row(rows: &mut Rows, isolation: &Isolation) {
    let (value, mechanism) = match (isolation.pid_ns, &isolation.namespaces) {
        (true, Ok(ns)) => (
            "own",
            format!(
                "PID namespace {}, leash's init as PID 1, its own /proc; when leash dies the \
                 kernel kills all of it (PR_SET_PDEATHSIG on init)",
                made(*ns)
            ),
        ),
        (true, Err(why)) => ("refused", format!("--pid-ns: {why}")),
        (false, Ok(ns)) => (
            "shared",
            format!("--pid-ns would give it its own, {}", made(*ns)),
        ),
        (false, Err(why)) => ("shared", format!("--pid-ns is not available here: {why}")),
    };
    add(rows, Protection::PidNamespace, value, mechanism);
}

/// The session's network and what holds it.
fn network_row(rows: &mut Rows, isolation: &Isolation) {
    let landlock_abi = match &isolation.access {
        Ok(Some(access)) => Ok(access.abi),
        Ok(None) => Err(None),
        Err(why) => Err(Some(why)),
    };
    let (value, mechanism) = match (&isolation.network, &isolation.namespaces) {
        (NetworkHold::Host, Ok(ns)) => (
            "host".to_string(),
            format!(
                "not isolated: --network none would give it a network namespace {}",
                made(*ns)
            ),
        ),
        (NetworkHold::Host, Err(why)) => (
            "host".to_string(),
            format!(
                "not isolated: no network namespace here ({why}); --network none would \
                 refuse its sockets by seccomp"
            ),
        ),
        (NetworkHold::Namespace, ns) => (
            "none".to_string(),
            format!(
                "network namespace {}: only a loopback interface of its own, nothing \
                 outside (the host's loopback included)",
                ns.as_ref().map_or("", |ns| made(*ns))
            ),
        ),
        (NetworkHold::SocketFilter(why), _) => (
            "none".to_string(),
            match &isolation.filter {
                Ok(_) => format!(
                    "no network namespace here ({why}): seccomp filter refuses {} (EPERM)",
                    crate::session::isolation::REFUSED_SOCKETS
                ),
                Err(no_filter) => format!("refused: no network namespace ({why}), {no_filter}"),
            },
        ),
        (NetworkHold::Ports(ports), _) => (
            format!("ports {}", list(ports)),
            match landlock_abi {
                Ok(abi) => format!(
                    "Landlock (ABI {abi}) TCP rules: connect and bind only to these ports; \
                     UDP and other protocols are not covered"
                ),
                Err(why) => format!(
                    "refused: {}",
                    why.map_or_else(String::new, ToString::to_string)
                ),
            },
        ),
    };
    add(rows, Protection::Network, value, mechanism);
}

fn list(ports: &[u16]) -> String {
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    ports.join(",")
}

fn paths(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

/// What holds the Landlock rules, or why nothing does, for a row.
fn by_landlock(isolation: &Isolation, held: impl Fn(&Access) -> String, gaps: bool) -> String {
    match &isolation.access {
        Ok(Some(access)) => {
            let mut how = format!("Landlock (ABI {}): {}", access.abi, held(access));
            if gaps && !access.not_held.is_empty() {
                how.push_str("; not held by this kernel: ");
                how.push_str(&access.not_held.join(", "));
            }
            how
        }
        Ok(None) => String::new(),
        Err(why) => format!("refused: {why}"),
    }
}

/// Where the session may write.
fn writes_row(rows: &mut Rows, isolation: &Isolation) {
    let private_tmp = if isolation.reach.private_tmp.is_some() {
        ", the private /tmp and /dev/shm"
    } else {
        ""
    };
    let devices = DEVICES.join(", ");
    let (value, mechanism) = match &isolation.reach.writes {
        Writes::Anywhere => (
            "anywhere".to_string(),
            available(isolation, "--write PATH or --read-only"),
        ),
        Writes::Below(below) => (
            if below.is_empty() {
                "read-only".to_string()
            } else {
                format!("below {}", paths(below))
            },
            by_landlock(
                isolation,
                |_| {
                    format!(
                        "create, change and delete only below the paths given, {devices}{private_tmp}"
                    )
                },
                true,
            ),
        ),
    };
    add(rows, Protection::Writes, value, mechanism);
}

/// What the session may read.
fn reads_row(rows: &mut Rows, isolation: &Isolation) {
    let (value, mechanism) = match &isolation.reach.reads {
        None => ("anything".to_string(), available(isolation, "--read PATH")),
        Some(below) => (
            format!("below {}", paths(below)),
            by_landlock(
                isolation,
                |access| {
                    format!(
                        "read and execute only below the paths given, the devices, the system's \
                     libraries and loader ({}), and the command: {}",
                        crate::session::isolation::SYSTEM_READS.join(", "),
                        paths(&access.command_reads)
                    )
                },
                false,
            ),
        ),
    };
    add(rows, Protection::Reads, value, mechanism);
}

/// Whether Landlock could hold what `flags` ask, for a row that asks nothing.
fn available(isolation: &Isolation, flags: &str) -> String {
    match &isolation.landlock {
        Ok(abi) => format!("not restricted: {flags} would use Landlock (ABI {abi})"),
        Err(why) => format!("not restricted: {flags} is not available here: {why}"),
    }
}

/// The session's own /tmp, or whether it could have one.
fn private_tmp_row(rows: &mut Rows, isolation: &Isolation) {
    let (value, mechanism) = match (isolation.reach.private_tmp, &isolation.namespaces) {
        (Some(size), Ok(ns)) => (
            format!("own {}", format_size(size)),
            format!(
                "mount namespace {}: a tmpfs of {} each on /tmp and /dev/shm, gone with the \
                 session; paths given below them are kept",
                made(*ns),
                format_size(size)
            ),
        ),
        (Some(_), Err(why)) => ("refused".to_string(), format!("--private-tmp: {why}")),
        (None, Ok(ns)) => (
            "shared".to_string(),
            format!("--private-tmp SIZE would give it its own, {}", made(*ns)),
        ),
        (None, Err(why)) => (
            "shared".to_string(),
            format!("--private-tmp is not available here: {why}"),
        ),
    };
    add(rows, Protection::PrivateTmp, value, mechanism);
}
