//! The session's memory without a cgroup: resident sizes, an upper bound read cheaply
//! from each process's stat, and proportional sizes (`smaps_rollup`: shared pages split
//! among their sharers), exact but a walk of every page table, read as seldom as the
//! limit allows.

use std::time::{Duration, Instant};

use nix::unistd::Pid;

use crate::machine::proc_view::{self, read_proc};

/// What the resident sizes of a set of processes counted more than once (pages shared
/// among them), as their proportional sizes once showed.
#[derive(Debug)]
pub(crate) struct Sharing {
    /// Resident minus proportional sizes, each read from the same `smaps_rollup`.
    counted_twice: u64,
    /// The processes then, sorted.
    pids: Vec<Pid>,
    /// When.
    at: Instant,
    /// How long reading them took.
    took: Duration,
}

/// How long a [`Sharing`] stands in for reading the proportional sizes again, where it
/// cannot yet tell that the limit is passed.
const SHARING_HOLDS: Duration = Duration::from_millis(100);

/// The memory of `pids`, whose resident sizes add up to `resident`, against `threshold`
/// (the limit): their proportional size, or a bound of it that decides as well.
///
/// Reading proportional sizes walks every process's page tables: milliseconds for a few
/// hundred MiB, more while they fault pages in, and longer still while leash competes
/// for a CPU with them, just when a bomb nears the limit. So with `sharing` (the
/// sampler's) they are read early, when the resident sizes pass half the threshold (and
/// again where a process joined since, no more often than the sampling budget allows),
/// and then, while no process joins, `resident` less what was counted twice stands in.
/// Pages only stop being shared among the same processes (a write to a copy-on-write
/// page, an exit), so that is a lower bound: beyond the threshold, the proportional size
/// is too; there it stands in for [`SHARING_HOLDS`] at least, then is read again. Below
/// the threshold (no breach either way) it stands in for the cadence and the peak.
/// Without `sharing` (`leashctl`): the resident sizes up to the threshold, the
/// proportional size beyond it.
pub(crate) fn memory(
    resident: u64,
    pids: &[Pid],
    threshold: u64,
    sharing: Option<&mut Option<Sharing>>,
) -> u64 {
    let Some(sharing) = sharing else {
        return if resident > threshold {
            proportional(pids).1
        } else {
            resident
        };
    };
    let joined = |known: &Sharing| pids.iter().any(|p| known.pids.binary_search(p).is_err());
    // Read again no sooner than the sampling budget allows (a quarter of a percent of a
    // CPU: one reading per 400 times its cost).
    let fresh = |known: &Sharing| known.at.elapsed() < SHARING_HOLDS.max(known.took * 400);
    if resident <= threshold {
        // Past half: once, and again where a process joined since.
        let learn_now = resident > threshold / 2
            && sharing
                .as_ref()
                .is_none_or(|known| joined(known) && !fresh(known));
        if learn_now {
            return learn(sharing, pids);
        }
        // Below the threshold nothing is breached either way: the closer figure sizes the
        // cadence and the peak (the resident sizes of a hundred shells count their shared
        // libraries a hundred times).
        return match sharing.as_ref().filter(|known| !joined(known)) {
            Some(known) => resident.saturating_sub(known.counted_twice),
            None => resident,
        };
    }
    if let Some(known) = sharing.as_ref().filter(|known| !joined(known)) {
        let least = resident.saturating_sub(known.counted_twice);
        if least > threshold || fresh(known) {
            return least;
        }
    }
    learn(sharing, pids)
}

/// Read the proportional size of `pids` and remember what their resident sizes counted
/// twice.
fn learn(sharing: &mut Option<Sharing>, pids: &[Pid]) -> u64 {
    let started = Instant::now();
    let (resident, exact) = proportional(pids);
    let mut pids = pids.to_vec();
    pids.sort_unstable();
    *sharing = Some(Sharing {
        counted_twice: resident.saturating_sub(exact),
        pids,
        at: Instant::now(),
        took: started.elapsed(),
    });
    exact
}

/// The resident and proportional sizes of `pids`, summed.
fn proportional(pids: &[Pid]) -> (u64, u64) {
    pids.iter()
        .filter_map(|&pid| {
            let rollup = read_proc(&proc_view::file(pid, "smaps_rollup")?)?;
            Some((
                kilobytes_field(&rollup, "Rss:")?,
                kilobytes_field(&rollup, "Pss:")?,
            ))
        })
        .fold((0, 0), |(rss, pss), (r, p)| (rss + r, pss + p))
}

fn kilobytes_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find_map(|line| line.strip_prefix(name))?;
    let kilobytes: u64 = line.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kilobytes * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_fields_are_kilobytes() {
        assert_eq!(
            kilobytes_field("Rss: 10 kB\nPss:   2048 kB\n", "Pss:"),
            Some(2 << 20)
        );
        let (resident, exact) = proportional(&[Pid::this()]);
        assert!(resident >= exact && exact > 0, "{resident} {exact}");
    }

    #[test]
    fn shared_pages_are_learned_early_and_stand_in_while_no_process_joins() {
        let me = [Pid::this()];
        let mut sharing = None;
        assert_eq!(memory(100, &me, 1000, Some(&mut sharing)), 100);
        assert!(sharing.is_none(), "below half the threshold: nothing read");
        memory(600, &me, 1000, Some(&mut sharing));
        assert!(
            sharing.is_some(),
            "past half: the proportional sizes read once"
        );
        sharing = Some(Sharing {
            counted_twice: 50,
            pids: me.to_vec(),
            at: Instant::now(),
            took: Duration::ZERO,
        });
        // Beyond the threshold, resident less what was counted twice.
        assert_eq!(memory(1100, &me, 1000, Some(&mut sharing)), 1050);
        // A process that joined since shares pages the reading never saw: read again.
        let two = [Pid::this(), Pid::parent()];
        assert_ne!(memory(1100, &two, 1000, Some(&mut sharing)), 1050);
        // leashctl reads what it shows, no memory kept.
        assert_eq!(memory(900, &me, 1000, None), 900);
    }
}
