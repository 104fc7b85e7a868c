//! Build script: where the C library is linked dynamically (glibc), link libgcc's
//! unwinder into leash statically, as `gcc -static-libgcc` does for C programs.
//!
//! Rust's standard library otherwise links libgcc_s.so, whose loading and constructor
//! cost every start about 0.15 ms (an empty C program: 0.81 ms, 0.95 ms linked with
//! libgcc_s, 2,000 runs in turns): leash as `timeout` took 1.14-1.17x of GNU's time with
//! it (BENCHMARKS.md). Listed here, before the standard library's own `-lgcc_s`, the
//! static archive resolves the unwinder's symbols first, and `--as-needed` then drops
//! libgcc_s.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let cfg = |name: &str| std::env::var(format!("CARGO_CFG_TARGET_{name}")).unwrap_or_default();
    let static_crt = cfg("FEATURE").split(',').any(|f| f == "crt-static");
    if cfg("OS") == "linux" && cfg("ENV") == "gnu" && !static_crt {
        println!("cargo:rustc-link-lib=static:-bundle,+verbatim=libgcc_eh.a");
    }
}
