//! RFC 3339 timestamps in UTC with seconds precision, `2026-11-22T08:30:00Z`:
//! the one form a checkpoint's `timestamp` line may take.
//!
//! Twenty lines of calendar arithmetic (Howard Hinnant's `days_from_civil`
//! and `civil_from_days`) keep this crate free of a date library. Only the
//! canonical form is accepted, so formatting and parsing are inverse.

/// The earliest timestamp a checkpoint may carry, 1970-01-01T00:00:00Z.
pub(crate) const MIN: i64 = 0;
/// The latest timestamp a checkpoint may carry, 9999-12-31T23:59:59Z.
pub(crate) const MAX: i64 = 253_402_300_799;

const SECONDS_PER_DAY: i64 = 86_400;

/// Formats unix seconds in `MIN..=MAX`; `None` outside that range.
pub(crate) fn format(unix: i64) -> Option<String> {
    if !(MIN..=MAX).contains(&unix) {
        return None;
    }
    let (days, secs) = (unix / SECONDS_PER_DAY, unix % SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (secs / 3600, secs / 60 % 60, secs % 60);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"
    ))
}

/// Parses the canonical form back to unix seconds; `None` for anything else,
/// including dates that do not exist and years before 1970.
pub(crate) fn parse(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 20 {
        return None;
    }
    for (at, separator) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'Z'),
    ] {
        if bytes[at] != separator {
            return None;
        }
    }
    let number = |from: usize, to: usize| -> Option<i64> {
        bytes[from..to].iter().try_fold(0i64, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
        })
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let valid = year >= 1970
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then(|| {
        days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_795_336_200, "2026-11-22T08:30:00Z"),
            (4_107_542_399, "2100-02-28T23:59:59Z"),
            (MAX, "9999-12-31T23:59:59Z"),
        ];
        for (unix, text) in cases {
            assert_eq!(format(unix).as_deref(), Some(text));
            assert_eq!(parse(text), Some(unix), "{text}");
        }
    }

    #[test]
    fn out_of_range_instants_do_not_format() {
        assert_eq!(format(-1), None);
        assert_eq!(format(MAX + 1), None);
        assert_eq!(format(i64::MIN), None);
    }

    #[test]
    fn non_canonical_text_is_refused() {
        for text in [
            "",
            "2026-11-22T08:30:00",
            "2026-11-22T08:30:00z",
            "2026-11-22t08:30:00Z",
            "2026-11-22 08:30:00Z",
            "2026-11-22T08:30:00.0Z",
            "2026-11-22T08:30:00+00:00",
            "+026-11-22T08:30:00Z",
            "2026-1-22T08:30:000Z",
            "2026-13-22T08:30:00Z",
            "2026-00-22T08:30:00Z",
            "2026-11-31T08:30:00Z",
            "2026-02-29T08:30:00Z",
            "2100-02-29T08:30:00Z",
            "2026-11-00T08:30:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T08:60:00Z",
            "2026-11-22T08:30:60Z",
            "1969-12-31T23:59:59Z",
            "2026-11-22T08:30:٠Z",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    proptest::proptest! {
        /// jiff, a full date library, is the oracle for the arithmetic.
        #[test]
        fn agrees_with_jiff(unix in MIN..=MAX) {
            let expected = jiff::Timestamp::from_second(unix).unwrap().to_string();
            proptest::prop_assert_eq!(format(unix), Some(expected.clone()));
            proptest::prop_assert_eq!(parse(&expected), Some(unix));
        }
    }

    #[test]
    fn days_across_the_range_round_trip() {
        for day in (0..=(MAX / SECONDS_PER_DAY)).step_by(7) {
            let unix = day * SECONDS_PER_DAY + (day * 7919) % SECONDS_PER_DAY;
            let text = format(unix).unwrap();
            assert_eq!(parse(&text), Some(unix), "{text}");
        }
    }
}
