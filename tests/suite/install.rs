//! The README's `cargo install` command lines install a working leash.

use std::path::Path;
use std::process::Command;

const README: &str = include_str!("../../README.md");

/// The README's `cargo install ...` spans.
fn install_command_lines() -> Vec<&'static str> {
    README
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.contains("cargo install ") && !span.contains("cargo-deb"))
        .collect()
}

/// Run an install command line as written, from the source directory, into a fresh root;
/// the installed leash.
fn install(line: &str, build_dir: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let root = tempfile::tempdir().expect("an install root");
    // A build directory of its own, kept between runs: only the first builds from scratch.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join(build_dir);
    let installed = Command::new("sh")
        .args(["-c", line])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_INSTALL_ROOT", root.path())
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_TERM_QUIET", "true")
        .status()
        .expect("sh");
    assert!(installed.success(), "{line}: {installed}");
    let leash = root.path().join("bin/leash");
    (root, leash)
}

/// Check that `leash` is a working release build.
fn assert_works(leash: &Path) {
    let version = Command::new(leash)
        .arg("--version")
        .output()
        .expect("leash --version");
    let version = String::from_utf8_lossy(&version.stdout);
    // A release build: the version alone, without the debug build's "(debug assertions on)".
    assert_eq!(
        version.trim_end(),
        format!("leash {}", env!("CARGO_PKG_VERSION"))
    );
    let ran = Command::new(leash)
        .args(["--wall", "20s", "--mem", "1G", "--", "sh", "-c", "exit 7"])
        .status()
        .expect("the installed leash");
    assert_eq!(ran.code(), Some(7));
}

/// Whether an ELF file names a program interpreter (the dynamic loader).
fn has_interpreter(elf: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    let read = |at: usize, len: usize| {
        let bytes = elf.get(at..at + len).expect("an ELF header");
        bytes
            .iter()
            .rev()
            .fold(0_usize, |n, b| (n << 8) | usize::from(*b))
    };
    assert_eq!(elf.get(..5), Some(&b"\x7fELF\x02"[..]), "a 64-bit ELF file");
    let (offset, size, count) = (read(0x20, 8), read(0x36, 2), read(0x38, 2));
    (0..count).any(|i| read(offset + i * size, 4) == PT_INTERP as usize)
}

#[test]
fn the_readme_shows_a_plain_and_a_static_install() {
    let lines = install_command_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("crt-static")), "{lines:?}");
}

#[test]
fn cargo_install_installs_a_working_leash() {
    let line = install_command_lines()
        .into_iter()
        .find(|l| !l.contains("crt-static"))
        .expect("the plain install");
    let (_root, leash) = install(line, "install");
    assert_works(&leash);
    let binary = std::fs::read(&leash).expect("the installed leash");
    assert!(has_interpreter(&binary), "a dynamically linked leash");
}

#[test]
fn the_static_install_needs_no_dynamic_loader() {
    let line = install_command_lines()
        .into_iter()
        .find(|l| l.contains("crt-static"))
        .expect("the static install");
    let (_root, leash) = install(line, "install-static");
    assert_works(&leash);
    assert_names_users(&leash);
    let binary = std::fs::read(&leash).expect("the installed leash");
    assert!(!has_interpreter(&binary), "a statically linked leash");
}

/// Check that `leash` (as root) resolves users by name and number, and refuses an unknown
/// name with one line: a static glibc that loads an NSS module crashes instead.
fn assert_names_users(leash: &Path) {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let run = |user: &str| {
        Command::new(leash)
            .args(["--wall", "20s", "--user", user, "--", "id", "-u"])
            .output()
            .expect("the installed leash")
    };
    let root = run("root");
    assert_eq!(String::from_utf8_lossy(&root.stdout), "0\n", "{root:?}");
    // A number with no account, as a container's users often are.
    let numbered = run("4242");
    assert_eq!(
        String::from_utf8_lossy(&numbered.stdout),
        "4242\n",
        "{numbered:?}"
    );
    let unknown = run("no-such-user-of-leash");
    assert_eq!(unknown.status.code(), Some(125), "{unknown:?}");
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr),
        "leash: --user: no user 'no-such-user-of-leash'\n"
    );
}

#[test]
fn the_packaged_crate_builds_and_runs() {
    // `cargo package` unpacks the crate it made and builds it there (its verification):
    // the leash of that build is the packaged one.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("package");
    let packaged = Command::new(env!("CARGO"))
        .args(["package", "--locked", "--allow-dirty", "--quiet"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("cargo package");
    assert!(packaged.success(), "cargo package: {packaged}");
    let crate_file = target.join(format!(
        "package/leash-run-{}.crate",
        env!("CARGO_PKG_VERSION")
    ));
    assert!(crate_file.exists(), "no {}", crate_file.display());
    let version = Command::new(target.join("debug/leash"))
        .arg("--version")
        .output()
        .expect("the packaged leash");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim_end(),
        format!("leash {} (debug assertions on)", env!("CARGO_PKG_VERSION"))
    );
    // Only what the build needs and the documents it installs: no tests, no CI.
    let listed = Command::new(env!("CARGO"))
        .args(["package", "--list", "--locked", "--allow-dirty"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo package --list");
    let files = String::from_utf8_lossy(&listed.stdout);
    assert!(files.lines().any(|f| f == "src/main.rs") && files.lines().any(|f| f == "man/leash.1"));
    assert!(
        !files
            .lines()
            .any(|f| f.starts_with("tests/") || f.starts_with(".ci/")),
        "{files}"
    );
}

#[test]
fn the_static_leash_runs_where_nothing_else_is() {
    // A directory that holds nothing but the binary, as a scratch container image does.
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: chroot needs root");
        return;
    }
    let line = install_command_lines()
        .into_iter()
        .find(|l| l.contains("crt-static"))
        .expect("the static install");
    let (_root, leash) = install(line, "install-static");
    let empty = tempfile::tempdir().expect("a directory");
    std::fs::copy(&leash, empty.path().join("leash")).expect("the binary alone");
    let output = Command::new("chroot")
        .arg(empty.path())
        .args(["/leash", "--version"])
        .output()
        .expect("chroot");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim_end(),
        format!("leash {}", env!("CARGO_PKG_VERSION"))
    );
}

/// The cargo-deb the tests build the Debian package with, installed once per build
/// directory.
const CARGO_DEB: &str = "3.8.0";

fn cargo_deb() -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cargo-deb-{CARGO_DEB}"));
    let program = root.join("bin/cargo-deb");
    if !program.exists() {
        let installed = Command::new(env!("CARGO"))
            .args([
                "install",
                "cargo-deb",
                "--locked",
                "--quiet",
                "--version",
                CARGO_DEB,
            ])
            .arg("--root")
            .arg(&root)
            .status();
        if !installed.is_ok_and(|s| s.success()) {
            crate::common::lacking(&format!(
                "cargo install cargo-deb --version {CARGO_DEB} failed: the packaging test \
                 builds the .deb with it, from the crates registry, which must be reachable"
            ));
        }
    }
    program
}

/// The README's `cargo deb` command line.
fn deb_command_line() -> &'static str {
    README
        .lines()
        .find(|line| line.contains("cargo deb "))
        .expect("the README's cargo deb line")
}

#[test]
fn the_debian_package_puts_leash_where_debian_expects_it() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deb");
    let cargo_deb = cargo_deb();
    let path = std::env::join_paths(
        std::iter::once(cargo_deb.parent().expect("a bin directory").to_path_buf()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ),
    )
    .expect("PATH");
    let built = Command::new("sh")
        .args(["-c", &format!("{} --quiet", deb_command_line())])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", &target)
        .env("PATH", path)
        .output()
        .expect("cargo deb");
    assert!(built.status.success(), "cargo deb: {built:?}");
    let deb = String::from_utf8_lossy(&built.stdout).trim().to_string();
    assert!(
        Path::new(&deb).extension().is_some_and(|e| e == "deb"),
        "{deb}"
    );
    // Unpacked into a directory of the test's own, never installed.
    let unpacked = tempfile::tempdir().expect("a directory");
    let extracted = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(unpacked.path())
        .status()
        .expect("dpkg-deb");
    assert!(extracted.success());
    let listed = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .expect("dpkg-deb -c");
    let listed = String::from_utf8_lossy(&listed.stdout);
    for file in [
        "usr/bin/leash",
        "usr/bin/leashctl",
        "usr/share/man/man1/leash.1.gz",
        "usr/share/man/man1/leashctl.1.gz",
        "usr/share/bash-completion/completions/leash",
        "usr/share/bash-completion/completions/leashctl",
        "usr/share/zsh/vendor-completions/_leash",
        "usr/share/zsh/vendor-completions/_leashctl",
        "usr/share/fish/vendor_completions.d/leash.fish",
        "usr/share/fish/vendor_completions.d/leashctl.fish",
        "usr/share/doc/leash/copyright",
    ] {
        assert!(unpacked.path().join(file).exists(), "no {file} in {deb}");
        assert!(
            listed.lines().any(|l| l.ends_with(&format!("./{file}"))),
            "dpkg-deb -c does not list {file}: {listed}"
        );
    }
    // No timeout or prlimit: those names are the system's.
    for name in ["timeout", "prlimit"] {
        assert!(!unpacked.path().join("usr/bin").join(name).exists());
    }
    let leash = unpacked.path().join("usr/bin/leash");
    assert_works(&leash);
    assert_names_users(&leash);
    // Linked statically, as the README says: the cheapest start-up.
    let binary = std::fs::read(&leash).expect("the packaged leash");
    assert!(!has_interpreter(&binary), "a statically linked leash");
    let ctl = Command::new(unpacked.path().join("usr/bin/leashctl"))
        .arg("--version")
        .output()
        .expect("leashctl --version");
    assert!(ctl.status.success(), "{ctl:?}");
}

#[test]
fn the_version_says_whether_debug_assertions_are_on() {
    // The tests are built with the same profile as the leash they run.
    let output = Command::new(env!("CARGO_BIN_EXE_leash"))
        .arg("--version")
        .output()
        .expect("leash --version");
    let version = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        version.contains("(debug assertions on)"),
        cfg!(debug_assertions),
        "{version}"
    );
}

#[test]
fn leash_loads_no_shared_library_but_the_c_library() {
    // Each library the dynamic loader maps costs every start (libm.so: about 0.2 ms, a
    // tenth of GNU timeout's start, when f64::ln slipped in; libgcc_s: 0.15 ms).
    let output = Command::new("ldd")
        .arg(env!("CARGO_BIN_EXE_leash"))
        .output()
        .expect("ldd (libc-bin)");
    let text = String::from_utf8_lossy(&output.stdout);
    let libraries: Vec<&str> = text
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| !name.starts_with("linux-vdso") && !name.contains("ld-linux"))
        .collect();
    assert_eq!(libraries, ["libc.so.6"], "{text}");
}
