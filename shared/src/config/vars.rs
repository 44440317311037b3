//! The environment reader every concern parses from; it records each name it is asked for.
//!
//! The record is what the `.env.example` test compares against, so the test follows the code
//! wherever a variable is read, however the concerns are split.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::ConfigError;

/// A set of variables to read configuration from, remembering which names were read.
pub(super) struct Vars {
    values: HashMap<String, String>,
    /// Interior mutability so that reading stays `&self` for every concern.
    read: RefCell<BTreeSet<&'static str>>,
}

impl Vars {
    /// Variables from explicit pairs (the process environment, `.env`, or a test's list).
    pub(super) fn new<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            values: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            read: RefCell::default(),
        }
    }

    /// Variables from a test's list of pairs.
    #[cfg(test)]
    pub(super) fn of(pairs: &[(&str, &str)]) -> Self {
        Self::new(pairs.iter().copied())
    }

    /// The value of `name`, trimmed; an empty value counts as unset.
    pub(super) fn get(&self, name: &'static str) -> Option<&str> {
        self.read.borrow_mut().insert(name);
        self.values
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The value of `name`, or `default` when it is unset.
    pub(super) fn get_or<'a>(&'a self, name: &'static str, default: &'a str) -> &'a str {
        self.get(name).unwrap_or(default)
    }

    /// `name` parsed as a `T`, or `default` when it is unset.
    pub(super) fn parse_or<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e| ConfigError::new(name, format!("invalid value {raw:?}: {e}"))),
        }
    }

    /// `name` (or `default` when unset) through `parse`, whose message is the problem.
    pub(super) fn parse_with<T>(
        &self,
        name: &'static str,
        default: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        parse(self.get_or(name, default)).map_err(|e| ConfigError::new(name, e))
    }

    /// `name` as a positive number of milliseconds.
    pub(super) fn millis_or(
        &self,
        name: &'static str,
        default_ms: u64,
    ) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(self.positive_or(name, default_ms)?))
    }

    /// `name` as a positive count or size.
    pub(super) fn size_or(&self, name: &'static str, default: usize) -> Result<usize, ConfigError> {
        self.positive_or(name, default)
    }

    /// `name` as a positive count that fits in 32 bits (a limit per window).
    pub(super) fn count_or(&self, name: &'static str, default: u32) -> Result<u32, ConfigError> {
        self.positive_or(name, default)
    }

    /// `name` as a number of seconds; 0 is read as 1 (a zero lifetime or window is never
    /// meant).
    pub(super) fn secs_at_least_one(
        &self,
        name: &'static str,
        default_secs: u64,
    ) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(
            self.parse_or::<u64>(name, default_secs)?.max(1),
        ))
    }

    /// `name` parsed, refusing 0 (a pool of no connections or a timeout of no time).
    fn positive_or<T>(&self, name: &'static str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr + Default + PartialEq,
        T::Err: fmt::Display,
    {
        let n: T = self.parse_or(name, default)?;
        if n == T::default() {
            return Err(ConfigError::new(name, "must be greater than 0"));
        }
        Ok(n)
    }

    /// Every name asked for so far, sorted.
    #[cfg(test)]
    pub(super) fn names_read(&self) -> BTreeSet<&'static str> {
        self.read.borrow().clone()
    }
}

/// Reads `pairs` with `read`, which must accept them.
#[cfg(test)]
pub(super) fn accepted<T>(
    read: impl FnOnce(&Vars) -> Result<T, ConfigError>,
    pairs: &[(&str, &str)],
) -> T {
    read(&Vars::of(pairs)).unwrap_or_else(|e| panic!("{pairs:?} must be accepted: {e}"))
}

/// Reads `name=value` alone with `read`, checks that it is refused naming `name`, and returns
/// the error for further checks.
#[cfg(test)]
pub(super) fn refused<T: fmt::Debug>(
    read: impl FnOnce(&Vars) -> Result<T, ConfigError>,
    name: &'static str,
    value: &str,
) -> ConfigError {
    let err = read(&Vars::of(&[(name, value)])).expect_err(value);
    assert_eq!(err.var, name, "{value}");
    err
}

/// Parses `s` as one of the `choices`; the error lists their names in order.
pub(super) fn one_of<T: Copy>(s: &str, choices: &[(&str, T)]) -> Result<T, String> {
    choices
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
            format!("expected one of {}", names.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_values_count_as_unset_and_values_are_trimmed() {
        let v = Vars::of(&[("A", "  "), ("B", " x ")]);
        assert_eq!(v.get("A"), None);
        assert_eq!(v.get("B"), Some("x"));
        assert_eq!(v.get_or("A", "default"), "default");
    }

    #[test]
    fn every_name_asked_for_is_recorded_even_when_unset() {
        let v = Vars::of(&[("SET", "1")]);
        v.get("SET");
        v.parse_or("UNSET", 0_u32).expect("default");
        assert_eq!(v.names_read(), BTreeSet::from(["SET", "UNSET"]));
    }

    #[test]
    fn a_malformed_number_names_its_variable_and_value() {
        let err = Vars::of(&[("N", "ten")])
            .parse_or("N", 0_u32)
            .expect_err("must fail");
        assert_eq!(
            err.to_string(),
            "configuration error: N: invalid value \"ten\": invalid digit found in string"
        );
    }

    #[test]
    fn zero_millis_or_size_is_refused_but_zero_seconds_reads_as_one() {
        let v = Vars::of(&[("MS", "0"), ("SIZE", "0"), ("SECS", "0")]);
        let err = v.millis_or("MS", 5).expect_err("must fail");
        assert_eq!(err.problem, "must be greater than 0");
        assert_eq!(v.size_or("SIZE", 5).expect_err("must fail").var, "SIZE");
        assert_eq!(
            v.secs_at_least_one("SECS", 5).expect("valid"),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn one_of_lists_the_choices_when_nothing_matches() {
        let choices = [("a", 1), ("b", 2)];
        assert_eq!(one_of("b", &choices), Ok(2));
        assert_eq!(
            one_of("c", &choices),
            Err("expected one of a, b".to_owned())
        );
    }
}
