//! Which capabilities leash itself has: its effective set, from `/proc/self/status`.

/// CAP_SYS_ADMIN: among others, Landlock and seccomp without `no_new_privs`.
pub(crate) const SYS_ADMIN: u32 = 21;
/// CAP_SYS_RESOURCE: raising hard rlimits.
pub(crate) const SYS_RESOURCE: u32 = 24;

/// Whether capability number `capability` is in leash's effective set.
pub(crate) fn effective(capability: u32) -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let hex = status
                .lines()
                .find_map(|line| line.strip_prefix("CapEff:"))?;
            u64::from_str_radix(hex.trim(), 16).ok()
        })
        .is_some_and(|caps| caps & (1 << capability) != 0)
}
