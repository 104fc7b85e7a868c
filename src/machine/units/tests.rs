//! How sizes, durations, counts and shares are read and shown: the forms users write.

use super::*;

#[test]
fn sizes_use_powers_of_1024_for_single_letters_and_iec() {
    assert_eq!(parse_size("4096"), Ok(4096));
    assert_eq!(parse_size("0"), Ok(0));
    assert_eq!(parse_size("100B"), Ok(100));
    assert_eq!(parse_size("1K"), Ok(1024));
    assert_eq!(parse_size("1k"), Ok(1024));
    assert_eq!(parse_size("100M"), Ok(100 << 20));
    assert_eq!(parse_size("512m"), Ok(512 << 20));
    assert_eq!(parse_size("2G"), Ok(2 << 30));
    assert_eq!(parse_size("2GiB"), Ok(2 << 30));
    assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
    assert_eq!(parse_size("1T"), Ok(1 << 40));
    assert_eq!(parse_size("1TiB"), Ok(1 << 40));
    assert_eq!(parse_size("1.5G"), Ok(3 << 29));
    assert_eq!(parse_size("1Mi"), Ok(1 << 20));
}

#[test]
fn sizes_with_b_after_the_prefix_are_decimal() {
    assert_eq!(parse_size("1KB"), Ok(1000));
    assert_eq!(parse_size("1kB"), Ok(1000));
    assert_eq!(parse_size("100MB"), Ok(100_000_000));
    assert_eq!(parse_size("3GB"), Ok(3_000_000_000));
    assert_eq!(parse_size("1TB"), Ok(1_000_000_000_000));
}

#[test]
fn bad_sizes_are_refused_with_the_reason() {
    for bad in [
        "", "M", "12Q", "1.5", "-1M", "1..2G", "1 G B", "10MiBs", "abc", "1e3",
    ] {
        assert!(parse_size(bad).is_err(), "{bad:?} was accepted");
    }
    assert!(
        parse_size("99999999999P")
            .unwrap_err()
            .0
            .contains("too large")
    );
    assert!(
        parse_size("12Q")
            .unwrap_err()
            .0
            .contains("unknown size unit")
    );
    assert!(parse_size("1.5").unwrap_err().0.contains("fraction"));
}

#[test]
fn bare_numbers_are_seconds_and_fractions_work() {
    assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
    assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
    assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
}

#[test]
fn duration_units_are_ms_s_m_h_d_and_combinations() {
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
    assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
    assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86400)));
    assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
    assert_eq!(parse_duration("1h 30m 5s"), Ok(Duration::from_secs(5405)));
    assert_eq!(parse_duration("0.5m"), Ok(Duration::from_secs(30)));
    // Exponents, as GNU timeout reads them.
    assert_eq!(parse_duration("1e3"), Ok(Duration::from_secs(1000)));
    assert_eq!(parse_duration("1.5e1m"), Ok(Duration::from_secs(900)));
    assert_eq!(parse_duration("25E-3"), Ok(Duration::from_millis(25)));
}

#[test]
fn a_unit_given_twice_is_refused() {
    assert!(parse_duration("1h1h").unwrap_err().0.contains("'h' twice"));
    assert!(parse_duration("5m 10s 3m").is_err());
    assert_eq!(parse_duration("1h 1m 1s"), Ok(Duration::from_secs(3661)));
}

#[test]
fn exbibytes_are_read_as_they_are_printed() {
    assert_eq!(parse_size("1EiB"), Ok(1 << 60));
    assert_eq!(parse_size("2EB"), Ok(2_000_000_000_000_000_000));
    assert_eq!(format_size(u64::MAX), "16.0 EiB");
    assert!(parse_size("16EiB").unwrap_err().0.contains("too large"));
}

#[test]
fn a_share_is_a_fraction_or_a_percentage() {
    assert_eq!(parse_fraction("0.8"), Ok(0.8));
    assert_eq!(parse_fraction("80%"), Ok(0.8));
    assert!(
        parse_fraction("150%")
            .unwrap_err()
            .0
            .contains("out of range")
    );
    assert!(parse_fraction("lots").is_err());
}

#[test]
fn bad_durations_are_refused() {
    for bad in ["", "-5", "-1s", "5M", "2months", "ten", "5x", "1.2.3", "s"] {
        assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
    }
    assert!(parse_duration("5M").unwrap_err().0.contains("months"));
    assert!(parse_duration("-5").unwrap_err().0.contains("negative"));
    assert!(
        parse_duration("500000000000y")
            .unwrap_err()
            .0
            .contains("too long")
    );
    assert!(parse_duration("101y").unwrap_err().0.contains("too long"));
    assert!(
        parse_duration("99999999999999d")
            .unwrap_err()
            .0
            .contains("too long")
    );
}

#[test]
fn positive_durations_refuse_zero() {
    assert!(parse_positive_duration("0").unwrap_err().0.contains("zero"));
    assert_eq!(parse_cpu_share("0.5"), Ok(0.5));
    assert_eq!(parse_cpu_share("150%"), Ok(1.5));
    assert!(parse_cpu_share("0").unwrap_err().0.contains("out of range"));
    assert!(parse_cpu_share("nan").is_err());
    assert!(
        parse_cpu_share("half")
            .unwrap_err()
            .0
            .contains("not a number")
    );
    assert!(parse_positive_duration("0s").is_err());
    assert!(parse_positive_duration("0ms").is_err());
    assert_eq!(parse_positive_duration("1ms"), Ok(Duration::from_millis(1)));
}

#[test]
fn counts_are_whole_numbers() {
    assert_eq!(parse_count("128"), Ok(128));
    assert!(parse_count("1.5").is_err());
    assert!(parse_count("-1").is_err());
    assert!(parse_count("1k").is_err());
}

#[test]
fn sizes_and_durations_print_readably() {
    assert_eq!(format_size(512 << 20), "512.0 MiB");
    assert_eq!(format_size(1023), "1023 B");
    assert_eq!(format_size(1024), "1.0 KiB");
    assert_eq!(format_size(1536), "1.5 KiB");
    assert_eq!(format_size((1 << 30) - 1), "1024.0 MiB");
    assert_eq!(format_size(3 << 40), "3.0 TiB");
    assert_eq!(format_size(u64::MAX), "16.0 EiB");
    assert_eq!(format_duration(Duration::from_secs(90)), "1m 30s");
}
