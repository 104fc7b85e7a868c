//! The limits the kernel enforces for the session, written into the session's cgroup
//! directories (memory, pids, CPU bandwidth).

use super::Controller;
use super::Version;
use super::dir::CgroupDir;
use crate::machine::error::Error;

/// What the kernel enforces for the session.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct KernelLimits {
    /// memory.max / memory.limit_in_bytes, in bytes; swap is limited with it.
    pub(crate) memory: Option<u64>,
    /// pids.max.
    pub(crate) tasks: Option<u64>,
    /// Share of one CPU (cpu.max / cpu.cfs_quota_us).
    pub(crate) cpu_rate: Option<f64>,
}

/// The CPU bandwidth period leash uses with `--cpu-rate`, in microseconds (the kernel's
/// default).
const CPU_PERIOD_US: u64 = 100_000;

/// Write the limits that `controllers` of `dir` enforce.
pub(crate) fn set_limits(
    dir: &CgroupDir,
    controllers: &[Controller],
    limits: &KernelLimits,
) -> Result<(), Error> {
    for controller in controllers {
        match (controller, dir.version) {
            (Controller::Memory, Version::V2) => {
                if let Some(memory) = limits.memory {
                    dir.write("memory.max", &memory.to_string())?;
                    // Without this the session could swap past its limit.
                    if dir.file("memory.swap.max").exists() {
                        dir.write("memory.swap.max", "0")?;
                    }
                }
            }
            (Controller::Memory, Version::V1) => {
                if let Some(memory) = limits.memory {
                    dir.write("memory.limit_in_bytes", &memory.to_string())?;
                    // Memory plus swap at the same value: no swapping past the limit.
                    if dir.file("memory.memsw.limit_in_bytes").exists() {
                        dir.write("memory.memsw.limit_in_bytes", &memory.to_string())?;
                    }
                }
            }
            (Controller::Pids, _) => {
                if let Some(tasks) = limits.tasks {
                    dir.write("pids.max", &tasks.to_string())?;
                }
            }
            (Controller::Cpu, version) => {
                if let Some(rate) = limits.cpu_rate {
                    let quota = cpu_quota(rate);
                    match version {
                        Version::V2 => dir.write("cpu.max", &format!("{quota} {CPU_PERIOD_US}"))?,
                        Version::V1 => {
                            dir.write("cpu.cfs_period_us", &CPU_PERIOD_US.to_string())?;
                            dir.write("cpu.cfs_quota_us", &quota.to_string())?;
                        }
                    }
                }
            }
            (Controller::Cpuacct | Controller::Freezer, _) => {}
        }
    }
    Ok(())
}

/// Microseconds of CPU per period for a share of one CPU (at least the kernel's 1 ms).
fn cpu_quota(rate: f64) -> u64 {
    // The product is positive and far below u64::MAX for any rate the CLI accepts.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let quota = (rate * 100_000.0).round() as u64;
    quota.max(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quota_has_a_floor() {
        assert_eq!(cpu_quota(1.5), 150_000);
        assert_eq!(cpu_quota(0.001), 1000);
    }
}
