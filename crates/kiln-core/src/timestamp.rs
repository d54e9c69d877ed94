//! RFC 3339 timestamps <-> microseconds since the Unix epoch (UTC).
//!
//! Kiln stores timestamps as `i64` microseconds, as Arrow's
//! `Timestamp(Microsecond, "UTC")` does. This small parser accepts what CSV
//! exports usually hold: `2024-05-01`, `2024-05-01T12:30:00`, `2024-05-01 12:30:00.25`,
//! with an optional `Z` or `+hh:mm` offset (no offset means UTC).

/// Parses an RFC 3339 date or date-time into microseconds since the epoch.
///
/// ```
/// use kiln_core::timestamp::parse_micros;
/// assert_eq!(parse_micros("1970-01-01T00:00:01Z"), Some(1_000_000));
/// assert_eq!(parse_micros("1970-01-01 01:00:00+01:00"), Some(0));
/// assert_eq!(parse_micros("2000-02-30"), None);
/// ```
#[must_use]
pub fn parse_micros(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut micros = days_from_civil(year, month, day) * 86_400_000_000;
    let rest = &b[10..];
    if rest.is_empty() {
        return Some(micros);
    }
    if !matches!(rest[0], b'T' | b't' | b' ') || rest.len() < 9 || rest[3] != b':' || rest[6] != b':' {
        return None;
    }
    let (h, m, sec) = (digits(&rest[1..3])?, digits(&rest[4..6])?, digits(&rest[7..9])?);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    micros += ((h * 60 + m) * 60 + sec) * 1_000_000;
    let mut rest = &rest[9..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let mut us = 0i64;
        for (i, d) in frac[..n].iter().enumerate().take(6) {
            us += i64::from(d - b'0') * 10i64.pow(5 - u32::try_from(i).ok()?);
        }
        micros += us;
        rest = &frac[n..];
    }
    let offset_minutes = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let mins = digits(&[*h1, *h2])? * 60 + digits(&[*m1, *m2])?;
            if *sign == b'+' { mins } else { -mins }
        }
        _ => return None,
    };
    Some(micros - offset_minutes * 60_000_000)
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_micros;

    #[test]
    fn known_values() {
        assert_eq!(parse_micros("1970-01-01"), Some(0));
        assert_eq!(parse_micros("2000-03-01T00:00:00Z"), Some(951_868_800_000_000));
        assert_eq!(parse_micros("1969-12-31T23:59:59.5Z"), Some(-500_000));
        assert_eq!(parse_micros("2024-02-29"), Some(1_709_164_800_000_000));
        for bad in [
            "",
            "2024-13-01",
            "2023-02-29",
            "2024-01-01T25:00:00",
            "2024-01-01T00:00:00+5",
            "abc",
        ] {
            assert_eq!(parse_micros(bad), None, "{bad}");
        }
    }
}
