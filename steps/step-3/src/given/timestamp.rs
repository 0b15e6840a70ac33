//! The timestamp check [`GpsRecord::validate`](crate::GpsRecord::validate) uses, so that the step needs no date
//! library. The chapter's "Typed records, and what \"invalid\" means" shows it; its tests are in `src/tests.rs`.

/// Whether `text` is an RFC 3339 date and time: `YYYY-MM-DDThh:mm:ss`, an optional fraction of a second, then `Z` or
/// an offset `±hh:mm` (`T` and `Z` in either case). The date must exist; a 60th second is allowed, for leap seconds.
pub fn is_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |from: usize, count: usize| -> Option<u32> {
        let slice = bytes.get(from..from + count)?;
        slice
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| slice.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let at = |index: usize, allowed: &[u8]| bytes.get(index).is_some_and(|byte| allowed.contains(byte));
    let (Some(year), Some(month), Some(day)) = (digits(0, 4), digits(5, 2), digits(8, 2)) else {
        return false;
    };
    let (Some(hour), Some(minute), Some(second)) = (digits(11, 2), digits(14, 2), digits(17, 2)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let date_ok = (1..=12).contains(&month) && (1..=month_days[month as usize - 1]).contains(&day);
    let shape_ok = at(4, b"-") && at(7, b"-") && at(10, b"Tt") && at(13, b":") && at(16, b":");
    if !(date_ok && shape_ok && hour < 24 && minute < 60 && second <= 60) {
        return false;
    }
    let mut rest = 19;
    if at(rest, b".") {
        let fraction = bytes[rest + 1..]
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if fraction == 0 {
            return false;
        }
        rest += 1 + fraction;
    }
    match &bytes[rest..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', ..] if bytes.len() == rest + 6 => {
            let (hours, minutes) = (digits(rest + 1, 2), digits(rest + 4, 2));
            at(rest + 3, b":") && hours.is_some_and(|h| h < 24) && minutes.is_some_and(|m| m < 60)
        }
        _ => false,
    }
}
