//! Time, injectable so tests and the shells can pin it.

use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};

/// The offset of China Standard Time, in which the field's calendar dates are reckoned.
const CHINA_STANDARD_TIME_SECONDS: i32 = 8 * 3600;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// Today's date in China Standard Time, used for birth-date, move-in and permit rules.
    fn today(&self) -> NaiveDate {
        let shifted = self.now() + chrono::Duration::seconds(CHINA_STANDARD_TIME_SECONDS.into());
        shifted.date_naive()
    }
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved; for tests and reproducible runs.
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    /// A clock showing `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_reckoned_in_china_standard_time() {
        let late_utc = DateTime::parse_from_rfc3339("2026-03-01T17:30:00Z").unwrap();
        let clock = FixedClock::new(late_utc.with_timezone(&Utc));
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        clock.set(
            DateTime::parse_from_rfc3339("2026-03-01T15:59:59Z")
                .unwrap()
                .with_timezone(&Utc),
        );
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
    }
}
