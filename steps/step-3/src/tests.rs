//! Tests of the given code in `lib.rs`: the learner's functions are tested by the step's shared tests (`tests/`);
//! these run on the solution and the starter alike.

use super::*;

#[test]
fn february_29th_exists_in_leap_years_only() {
    assert!(
        is_rfc3339("2024-02-29T12:00:00Z"),
        "a year divisible by 4 is a leap year"
    );
    assert!(!is_rfc3339("2026-02-29T12:00:00Z"), "2026 is not");
    assert!(
        !is_rfc3339("2100-02-29T12:00:00Z"),
        "a century is not, unless divisible by 400"
    );
    assert!(is_rfc3339("2000-02-29T12:00:00Z"), "2000 is");
    assert!(!is_rfc3339("2024-02-30T12:00:00Z"));
}

#[test]
fn every_separator_is_checked() {
    assert!(is_rfc3339("2026-11-27T10:15:00Z"));
    assert!(is_rfc3339("2026-11-27t10:15:00z"), "T and Z in either case");
    for wrong in [
        "2026/11-27T10:15:00Z",
        "2026-11/27T10:15:00Z",
        "2026-11-27 10:15:00Z",
        "2026-11-27T10-15:00Z",
        "2026-11-27T10:15-00Z",
    ] {
        assert!(!is_rfc3339(wrong), "{wrong}");
    }
}

#[test]
fn the_time_of_day_is_within_its_ranges() {
    assert!(is_rfc3339("2026-11-27T23:59:59Z"));
    assert!(!is_rfc3339("2026-11-27T24:00:00Z"));
    assert!(!is_rfc3339("2026-11-27T10:60:00Z"), "minutes are 00 to 59");
    assert!(is_rfc3339("2016-12-31T23:59:60Z"), "a leap second");
    assert!(!is_rfc3339("2026-11-27T10:15:61Z"));
}

#[test]
fn an_offset_is_plus_or_minus_hh_colon_mm_and_ends_the_text() {
    assert!(is_rfc3339("2026-11-27T10:15:00+01:00"));
    assert!(is_rfc3339("2026-11-27T10:15:00.25-23:59"));
    for wrong in [
        "2026-11-27T10:15:00+01:00x",
        "2026-11-27T10:15:00+01-00",
        "2026-11-27T10:15:00+0100",
        "2026-11-27T10:15:00+24:00",
        "2026-11-27T10:15:00+01:60",
    ] {
        assert!(!is_rfc3339(wrong), "{wrong}");
    }
}
