//! The resources util-linux `prlimit` knows, each as `prlimit` names and describes it and
//! in the unit leash reads its values in: the one table leash's `--rlimit`, `--explain` and
//! the `prlimit` personality all read.

use nix::sys::resource::Resource;

use super::{Rlimit, Unit};

/// Every rlimit leash can set, in `prlimit`'s order (by name).
pub(crate) const RLIMITS: [Rlimit; 16] = [
    Rlimit::AS,
    Rlimit::CORE,
    Rlimit::CPU,
    Rlimit::DATA,
    Rlimit::FSIZE,
    Rlimit::LOCKS,
    Rlimit::MEMLOCK,
    Rlimit::MSGQUEUE,
    Rlimit::NICE,
    Rlimit::NOFILE,
    Rlimit::NPROC,
    Rlimit::RSS,
    Rlimit::RTPRIO,
    Rlimit::RTTIME,
    Rlimit::SIGPENDING,
    Rlimit::STACK,
];

impl Rlimit {
    /// RLIMIT_AS.
    pub(crate) const AS: Rlimit = Rlimit {
        name: "as",
        letter: 'v',
        table_name: "AS",
        description: "address space limit",
        units: "bytes",
        resource: Resource::RLIMIT_AS,
        unit: Unit::Bytes,
    };
    /// RLIMIT_CORE.
    pub(crate) const CORE: Rlimit = Rlimit {
        name: "core",
        letter: 'c',
        table_name: "CORE",
        description: "max core file size",
        units: "bytes",
        resource: Resource::RLIMIT_CORE,
        unit: Unit::Bytes,
    };
    /// RLIMIT_CPU.
    pub(crate) const CPU: Rlimit = Rlimit {
        name: "cpu",
        letter: 't',
        table_name: "CPU",
        description: "CPU time",
        units: "seconds",
        resource: Resource::RLIMIT_CPU,
        unit: Unit::Seconds,
    };
    /// RLIMIT_DATA.
    pub(crate) const DATA: Rlimit = Rlimit {
        name: "data",
        letter: 'd',
        table_name: "DATA",
        description: "max data size",
        units: "bytes",
        resource: Resource::RLIMIT_DATA,
        unit: Unit::Bytes,
    };
    /// RLIMIT_FSIZE.
    pub(crate) const FSIZE: Rlimit = Rlimit {
        name: "fsize",
        letter: 'f',
        table_name: "FSIZE",
        description: "max file size",
        units: "bytes",
        resource: Resource::RLIMIT_FSIZE,
        unit: Unit::Bytes,
    };
    /// RLIMIT_LOCKS.
    pub(crate) const LOCKS: Rlimit = Rlimit {
        name: "locks",
        letter: 'x',
        table_name: "LOCKS",
        description: "max number of file locks held",
        units: "locks",
        resource: Resource::RLIMIT_LOCKS,
        unit: Unit::Count,
    };
    /// RLIMIT_MEMLOCK.
    pub(crate) const MEMLOCK: Rlimit = Rlimit {
        name: "memlock",
        letter: 'l',
        table_name: "MEMLOCK",
        description: "max locked-in-memory address space",
        units: "bytes",
        resource: Resource::RLIMIT_MEMLOCK,
        unit: Unit::Bytes,
    };
    /// RLIMIT_MSGQUEUE.
    pub(crate) const MSGQUEUE: Rlimit = Rlimit {
        name: "msgqueue",
        letter: 'q',
        table_name: "MSGQUEUE",
        description: "max bytes in POSIX mqueues",
        units: "bytes",
        resource: Resource::RLIMIT_MSGQUEUE,
        unit: Unit::Bytes,
    };
    /// RLIMIT_NICE.
    pub(crate) const NICE: Rlimit = Rlimit {
        name: "nice",
        letter: 'e',
        table_name: "NICE",
        description: "max nice prio allowed to raise",
        units: "",
        resource: Resource::RLIMIT_NICE,
        unit: Unit::Count,
    };
    /// RLIMIT_NOFILE.
    pub(crate) const NOFILE: Rlimit = Rlimit {
        name: "nofile",
        letter: 'n',
        table_name: "NOFILE",
        description: "max number of open files",
        units: "files",
        resource: Resource::RLIMIT_NOFILE,
        unit: Unit::Count,
    };
    /// RLIMIT_NPROC.
    pub(crate) const NPROC: Rlimit = Rlimit {
        name: "nproc",
        letter: 'u',
        table_name: "NPROC",
        description: "max number of processes",
        units: "processes",
        resource: Resource::RLIMIT_NPROC,
        unit: Unit::Count,
    };
    /// RLIMIT_RSS.
    pub(crate) const RSS: Rlimit = Rlimit {
        name: "rss",
        letter: 'm',
        table_name: "RSS",
        description: "max resident set size",
        units: "bytes",
        resource: Resource::RLIMIT_RSS,
        unit: Unit::Bytes,
    };
    /// RLIMIT_RTPRIO.
    pub(crate) const RTPRIO: Rlimit = Rlimit {
        name: "rtprio",
        letter: 'r',
        table_name: "RTPRIO",
        description: "max real-time priority",
        units: "",
        resource: Resource::RLIMIT_RTPRIO,
        unit: Unit::Count,
    };
    /// RLIMIT_RTTIME.
    pub(crate) const RTTIME: Rlimit = Rlimit {
        name: "rttime",
        letter: 'y',
        table_name: "RTTIME",
        description: "timeout for real-time tasks",
        units: "microsecs",
        resource: Resource::RLIMIT_RTTIME,
        unit: Unit::Microseconds,
    };
    /// RLIMIT_SIGPENDING.
    pub(crate) const SIGPENDING: Rlimit = Rlimit {
        name: "sigpending",
        letter: 'i',
        table_name: "SIGPENDING",
        description: "max number of pending signals",
        units: "signals",
        resource: Resource::RLIMIT_SIGPENDING,
        unit: Unit::Count,
    };
    /// RLIMIT_STACK.
    pub(crate) const STACK: Rlimit = Rlimit {
        name: "stack",
        letter: 's',
        table_name: "STACK",
        description: "max stack size",
        units: "bytes",
        resource: Resource::RLIMIT_STACK,
        unit: Unit::Bytes,
    };
}
