//! The typed values conditions compare: decimal numbers, instants and IP ranges, written by hand so that the crate
//! depends on serde alone.

use std::cmp::Ordering;
use std::net::IpAddr;

/// An integer or decimal number, compared exactly (no floating point): `10`, `-2`, `3600.5`.
///
/// "Numeric condition operators let you construct Condition elements that restrict access based on comparing a key
/// to an integer or decimal value" (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Numeric>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    negative: bool,
    /// Digits before the point, without leading zeros ("" for zero).
    whole: String,
    /// Digits after the point, without trailing zeros.
    fraction: String,
}

impl Decimal {
    pub(crate) fn parse(text: &str) -> Option<Decimal> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || digits.ends_with('.') {
            return None;
        }
        let whole = whole.trim_start_matches('0').to_owned();
        let fraction = fraction.trim_end_matches('0').to_owned();
        let zero = whole.is_empty() && fraction.is_empty();
        Some(Decimal {
            negative: negative && !zero,
            whole,
            fraction,
        })
    }

    fn magnitude(&self, other: &Decimal) -> Ordering {
        self.whole
            .len()
            .cmp(&other.whole.len())
            .then_with(|| self.whole.cmp(&other.whole))
            // Without trailing zeros, digit strings after the point order as their values do.
            .then_with(|| self.fraction.cmp(&other.fraction))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.magnitude(other),
            (true, true) => other.magnitude(self),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A point in time: seconds since 1970-01-01T00:00:00Z and nanoseconds within that second.
///
/// "You must specify date/time values with one of the W3C implementations of the ISO 8601 date formats or in epoch
/// (UNIX) time" (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date>).
/// As IAM's own parser does (and moto's copy of it), a value with a `T` or a `-` is ISO 8601, any other is epoch
/// seconds: `2020` is 2020 seconds after the epoch, not the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant {
    seconds: i64,
    nanos: u32,
}

impl Instant {
    pub(crate) fn parse(text: &str) -> Option<Instant> {
        if text.contains(['t', 'T', '-']) {
            return iso_8601(text);
        }
        if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        Some(Instant {
            seconds: text.parse().ok()?,
            nanos: 0,
        })
    }
}

/// `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, and `YYYY-MM-DDThh:mm[:ss[.s...]]` with `Z` or `±hh:mm` (read as UTC when
/// the zone is left out): the W3C profile, <https://www.w3.org/TR/NOTE-datetime>.
fn iso_8601(text: &str) -> Option<Instant> {
    let (date, time) = match text.find(['T', 't']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let mut fields = date.split('-');
    let year: i64 = number(fields.next()?, 4)?;
    let month: i64 = fields.next().map_or(Some(1), |m| number(m, 2))?;
    let day: i64 = fields.next().map_or(Some(1), |d| number(d, 2))?;
    if fields.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (seconds, nanos, offset) = match time {
        Some(time) => clock(time)?,
        None => (0, 0, 0),
    };
    Some(Instant {
        seconds: days_from_civil(year, month, day) * 86_400 + seconds - offset,
        nanos,
    })
}

/// `hh:mm[:ss[.fraction]]` and a zone: (seconds into the day, nanoseconds, the zone's offset in seconds).
fn clock(time: &str) -> Option<(i64, u32, i64)> {
    let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else if let Some(at) = time.rfind(['+', '-']) {
        let sign = if time[at..].starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = time[at + 1..].split_once(':')?;
        let (hours, minutes): (i64, i64) = (number(hours, 2)?, number(minutes, 2)?);
        if hours > 23 || minutes > 59 {
            return None;
        }
        (&time[..at], sign * (hours * 3600 + minutes * 60))
    } else {
        (time, 0)
    };
    let mut fields = clock.split(':');
    let hours: i64 = number(fields.next()?, 2)?;
    let minutes: i64 = number(fields.next()?, 2)?;
    let (seconds, nanos) = match fields.next() {
        None => (0, 0),
        Some(seconds) => {
            let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
            let whole: i64 = number(whole, 2)?;
            if whole > 59 || fraction.len() > 9 || !fraction.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let nanos = format!("{fraction:0<9}").parse().ok()?;
            (whole, nanos)
        }
    };
    if fields.next().is_some() || hours > 23 || minutes > 59 {
        return None;
    }
    Some((hours * 3600 + minutes * 60 + seconds, nanos, offset))
}

fn number(digits: &str, width: usize) -> Option<i64> {
    (digits.len() == width && digits.chars().all(|c| c.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// Days since 1970-01-01 of a proleptic Gregorian date: shift the year to start in March, so that the leap day is
/// the year's last, then count 400-year eras of 146,097 days.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// An IPv4 or IPv6 range. "If you specify an IP address without the associated routing prefix, IAM uses the default
/// prefix value of /32" (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress>);
/// an IPv6 address alone is likewise the one address (/128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u32,
}

impl Cidr {
    pub(crate) fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().ok()?;
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) if !prefix.is_empty() && prefix.chars().all(|c| c.is_ascii_digit()) => prefix.parse().ok()?,
            Some(_) => return None,
            None => width,
        };
        (prefix <= width).then_some(Cidr { network, prefix })
    }

    /// Whether `address` is in the range (an IPv4 address is never in an IPv6 range, nor the reverse).
    pub(crate) fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix).unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix).unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}
