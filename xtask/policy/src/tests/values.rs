//! Numbers, instants and IP ranges, read by hand.

use crate::conditions::values::{Cidr, Decimal, Instant};

fn number(text: &str) -> Decimal {
    Decimal::parse(text).unwrap_or_else(|| panic!("{text} is a number"))
}

fn instant(text: &str) -> Instant {
    Instant::parse(text).unwrap_or_else(|| panic!("{text} is a date"))
}

#[test]
fn decimals_order_by_value() {
    let ascending = [
        "-100", "-10.5", "-10", "-0.01", "0", "0.001", "0.01", "0.1", "0.25", "1", "9.99", "10", "100",
    ];
    for pair in ascending.windows(2) {
        assert!(number(pair[0]) < number(pair[1]), "{} < {}", pair[0], pair[1]);
    }
    assert_eq!(number("007.50"), number("7.5"));
    assert_eq!(number("-0"), number("0"));
    assert_eq!(number("-0.000"), number("0"));
    for bad in ["", "-", "1.", ".5", "1e3", "+1", "1,5", "0x10", " 1", "1.2.3", "--1"] {
        assert!(Decimal::parse(bad).is_none(), "{bad:?}");
    }
}

/// The W3C profile of ISO 8601 and epoch seconds; a value without `T` or `-` is epoch seconds, as IAM's parser
/// reads it.
#[test]
fn instants_read_iso_8601_and_epoch_seconds() {
    assert_eq!(instant("1970-01-01T00:00:00Z"), instant("0"));
    assert_eq!(instant("2020-01-01T00:00:00Z"), instant("1577836800"));
    assert_eq!(
        instant("2000-03-01T00:00:00Z"),
        instant("951868800"),
        "after a leap day of a century divisible by 400"
    );
    assert_eq!(instant("2100-03-01"), instant("4107542400"), "2100 is not a leap year");
    assert_eq!(
        instant("2020"),
        instant("1970-01-01T00:33:40Z"),
        "2020 is epoch seconds, not the year"
    );
    assert_eq!(instant("2020-01"), instant("2020-01-01T00:00:00Z"));
    assert_eq!(instant("2020-02-29T12:30Z"), instant("2020-02-29T12:30:00Z"));
    assert_eq!(instant("2020-01-01T05:30:00+05:30"), instant("2020-01-01T00:00:00Z"));
    assert_eq!(instant("2019-12-31T19:00:00-05:00"), instant("2020-01-01T00:00:00Z"));
    assert_eq!(instant("2020-01-01t00:00:00z"), instant("2020-01-01T00:00:00Z"));
    assert!(instant("2020-01-01T00:00:00.5Z") > instant("2020-01-01T00:00:00Z"));
    assert!(instant("2020-01-01T00:00:00.5Z") < instant("2020-01-01T00:00:01Z"));
    assert!(instant("1969-12-31T23:59:59.5Z") < instant("0"));
    assert_eq!(
        instant("2020-01-01T00:00:59.999999999+00:00"),
        instant("2020-01-01T00:00:59.999999999Z")
    );
    assert_eq!(instant("2020-01-01T00:00:00+23:59"), instant("2019-12-31T00:01:00Z"));
    for bad in [
        "2020-13-01",
        "2020-01-32",
        "2020-1-1",
        "20-01-01",
        "2020-01-01T24:00:00Z",
        "2020-01-01T00:60Z",
        "2020-01-01T00:00:60Z",
        "2020-01-01T00:00:00.1234567890Z",
        "2020-01-01T00:00:00.5aZ",
        "2020-01-01T00:00:00+24:00",
        "2020-01-01T00:00:00+05:60",
        "2020-01-01T00:00:00+0530",
        "-5",
        "+5",
        "",
        "soon",
        "1.5",
    ] {
        assert!(Instant::parse(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn cidr_ranges_contain_their_addresses() {
    let range = Cidr::parse("203.0.113.0/24").unwrap();
    assert!(range.contains("203.0.113.0".parse().unwrap()));
    assert!(range.contains("203.0.113.255".parse().unwrap()));
    assert!(!range.contains("203.0.112.255".parse().unwrap()));
    assert!(
        !range.contains("::ffff:203.0.113.1".parse().unwrap()),
        "an IPv6 address is not in an IPv4 range"
    );
    let one = Cidr::parse("198.51.100.7").unwrap();
    assert!(one.contains("198.51.100.7".parse().unwrap()));
    assert!(!one.contains("198.51.100.6".parse().unwrap()));
    let v6 = Cidr::parse("2001:DB8:1234:5678::/64").unwrap();
    assert!(v6.contains("2001:db8:1234:5678:ffff:ffff:ffff:ffff".parse().unwrap()));
    assert!(!v6.contains("2001:db8:1234:5677::".parse().unwrap()));
    assert!(Cidr::parse("::/0").unwrap().contains("2001:db8::1".parse().unwrap()));
    assert!(Cidr::parse("0.0.0.0/0").unwrap().contains("192.0.2.1".parse().unwrap()));
    for bad in [
        "203.0.113.0/33",
        "203.0.113.0/",
        "203.0.113/24",
        "2001:db8::/129",
        "203.0.113.0/-1",
        "203.0.113.0/+8",
        "localhost",
    ] {
        assert!(Cidr::parse(bad).is_none(), "{bad:?}");
    }
}
