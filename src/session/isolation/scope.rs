//! The Landlock scope of the session: a ruleset that handles no file or network access
//! and only scopes signals (and with them ptrace) and abstract unix sockets to the
//! session's own domain (Landlock ABI 6, Linux 6.12).

use std::os::fd::OwnedFd;

use landlock::{ABI, Access, CompatLevel, Compatible, Ruleset, RulesetAttr, Scope};

use super::Missing;

/// The ruleset, created on a kernel of Landlock `abi`; an error if it cannot scope a
/// domain.
pub(crate) fn ruleset(abi: i32) -> Result<super::Scope, Missing> {
    let created = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .scope(Scope::from_all(ABI::V6))
        .and_then(Ruleset::create);
    match created.ok().and_then(Option::<OwnedFd>::from) {
        Some(ruleset) => Ok(super::Scope { ruleset, abi }),
        None => Err(Missing::NoScopes(abi)),
    }
}

/// The Landlock ABI of the running kernel; `None` without Landlock.
pub(crate) fn abi() -> Option<i32> {
    const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;
    // SAFETY: with a null attribute, size 0 and the version flag, landlock_create_ruleset
    // only returns the ABI version (or -1); it reads no memory and creates no descriptor.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    i32::try_from(version).ok().filter(|v| *v > 0)
}
