//! leash as `prlimit` (a link named so, first on PATH) against util-linux's own `prlimit`:
//! the limits its command form sets, the table `--pid` prints, and its refusals.

use crate::common::Sandbox;

/// util-linux's prlimit, to compare with; `None` (the test is skipped) where it is missing.
fn util_linux() -> Option<&'static str> {
    let path = "/usr/bin/prlimit";
    std::path::Path::new(path).exists().then_some(path)
}

#[test]
fn the_command_form_sets_exactly_the_limits_util_linux_sets_for_every_resource() {
    let Some(util) = util_linux() else {
        eprintln!("skipped: no util-linux prlimit here");
        return;
    };
    let sandbox = Sandbox::new();
    // For each resource: half its hard limit and the hard limit (a large pair where it is
    // unlimited), as SOFT:HARD, SOFT:, :HARD and a single value; each time the child's
    // /proc/self/limits under util-linux's prlimit and under the link must be the same.
    let line = format!(
        "for r in as core cpu data fsize locks memlock msgqueue nice nofile nproc rss rtprio rttime sigpending stack; do \
           hard=$({util} --raw --noheadings -o HARD --$r); \
           if [ \"$hard\" = unlimited ]; then hard=2000000000; fi; soft=$((hard / 2)); \
           for limit in $soft:$hard $soft: :$soft $soft unlimited:unlimited; do \
             a=$({util} --$r=$limit cat /proc/self/limits 2>&1; echo \"status $?\"); \
             b=$(prlimit --$r=$limit cat /proc/self/limits 2>&1; echo \"status $?\"); \
             if [ \"$a\" = \"$b\" ]; then echo \"same $r $limit\"; else echo \"DIFFERENT $r $limit: $a // $b\"; fi; \
           done; \
         done"
    );
    let run = sandbox.run_with_links(&line);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.starts_with("same "))
            .count(),
        16 * 5,
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("DIFFERENT"), "{}", run.stdout);
}

#[test]
fn the_table_of_a_process_is_util_linuxs() {
    let Some(util) = util_linux() else {
        eprintln!("skipped: no util-linux prlimit here");
        return;
    };
    let sandbox = Sandbox::new();
    for options in [
        "",
        "--raw",
        "--noheadings",
        "-o RESOURCE,SOFT",
        "--nofile -c",
        "--raw --noheadings -n -e",
    ] {
        let line = format!(
            "{util} --pid $$ {options} > expected; prlimit --pid $$ {options} > got; \
             cmp expected got && echo same; {util} {options} | head -1 > expected; \
             prlimit {options} | head -1 > got; cmp expected got && echo same"
        );
        let run = sandbox.run_with_links(&line);
        assert_eq!(run.stdout, "same\nsame\n", "{options}: {}", run.stderr);
    }
}

#[test]
fn sizes_keep_their_suffix_where_util_linux_drops_it() {
    let sandbox = Sandbox::new();
    let run = sandbox.run_with_links(
        "prlimit --as=2G:4G sh -c 'ulimit -v; ulimit -Hv'; prlimit --fsize=1KB: sh -c 'ulimit -f'; \
         prlimit -n=64 sh -c 'ulimit -n'",
    );
    // ulimit -v counts KiB, -f 512-byte blocks (1000 bytes: one block).
    assert_eq!(run.stdout, "2097152\n4194304\n1\n64\n", "{}", run.stderr);
}

#[test]
fn bad_values_exit_as_prlimit_does_with_one_line() {
    let sandbox = Sandbox::new();
    for (line, code, said) in [
        (
            "prlimit --nofile=abc true",
            1,
            "prlimit: failed to parse NOFILE limit\n",
        ),
        (
            "prlimit --nofile=20:10 true",
            1,
            "prlimit: the soft limit NOFILE cannot exceed the hard limit\n",
        ),
        (
            "prlimit --pid 1 true",
            1,
            "prlimit: options --pid and COMMAND are mutually exclusive\n",
        ),
        ("prlimit --pid x", 1, "prlimit: invalid PID argument: 'x'\n"),
        ("prlimit -o FOO", 1, "prlimit: unknown column: FOO\n"),
        (
            "prlimit no_such_command",
            127,
            "prlimit: failed to execute no_such_command: No such file or directory\n",
        ),
        (
            "prlimit /",
            126,
            "prlimit: failed to execute /: Permission denied\n",
        ),
        (
            "prlimit --bogus",
            1,
            "prlimit: unrecognized option '--bogus'\nTry 'prlimit --help' for more information.\n",
        ),
    ] {
        let run = sandbox.run_with_links(line);
        assert_eq!(
            (run.code(), run.stderr.as_str()),
            (Some(code), said),
            "{line}"
        );
    }
    // A limit above the hard one cannot be raised without privilege: the kernel's word.
    let run = sandbox.run_with_links("prlimit --nofile=:unlimited true");
    assert_eq!(run.code(), Some(1));
    assert!(
        run.stderr
            .starts_with("prlimit: failed to set the NOFILE resource limit: "),
        "{}",
        run.stderr
    );
}

#[test]
fn the_pid_form_changes_another_process() {
    let sandbox = Sandbox::new();
    let run = sandbox.run_with_links(
        "sleep 30 & pid=$!; echo $pid; prlimit --verbose --pid $pid --nofile=77:99; \
         grep 'Max open files' /proc/$pid/limits | tr -s ' '; kill $pid",
    );
    let pid = run.stdout.lines().next().unwrap_or_default();
    assert_eq!(
        run.stdout,
        format!("{pid}\nNew NOFILE limit for pid {pid}: <77:99>\nMax open files 77 99 files \n"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_values_and_pids_util_linux_takes_are_taken_alike() {
    // Issue 31, item 16: -1 (unlimited), '5 ', +5 and --pid 0 were refused, and a
    // second --pid was taken, each unlike util-linux.
    let Some(util) = util_linux() else {
        eprintln!("skipped: no util-linux prlimit here");
        return;
    };
    let sandbox = Sandbox::new();
    for args in [
        "--core=-1 cat /proc/self/limits",
        "--nofile='5 ' cat /proc/self/limits",
        "--nofile=+5 cat /proc/self/limits",
        "--nofile=+5: cat /proc/self/limits",
        "--pid 0 --nofile --raw --noheadings",
        "--pid $$ --pid $$",
        "--verbose --nofile=5 | sed 's/pid [0-9]*/pid N/'",
    ] {
        let line = format!(
            "a=$({util} {args} 2>&1; echo \"status $?\"); b=$(prlimit {args} 2>&1; echo \"status $?\"); \
             if [ \"$a\" = \"$b\" ]; then echo same; else echo \"DIFFERENT: $a // $b\"; fi"
        );
        let run = sandbox.run_with_links(&line);
        assert_eq!(run.stdout, "same\n", "{args}: {}", run.stderr);
    }
}
