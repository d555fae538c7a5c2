//! Validated values that arrive from people: display names, email addresses and reasons.
//! Each is made by `parse`, which says what is wrong; holding one means it was checked.

use std::fmt;

/// Why a value was refused; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{field}: must be 1 to {max} characters")]
    Length { field: &'static str, max: usize },
    #[error("email: `{0}` is not an email address")]
    Email(String),
}

/// A person's name as shown to those who may see it (1 to 200 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX: usize = 200;

    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let text = text.trim();
        let chars = text.chars().count();
        if chars == 0 || chars > Self::MAX {
            return Err(ValueError::Length {
                field: "displayName",
                max: Self::MAX,
            });
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, lower-cased, of a plausible shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let email = text.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if valid {
            Ok(Self(email))
        } else {
            Err(ValueError::Email(email))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a change was made (1 to 2,000 characters): every human change that needs one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reason(String);

impl Reason {
    pub const MAX: usize = 2_000;

    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let text = text.trim();
        let chars = text.chars().count();
        if chars == 0 || chars > Self::MAX {
            return Err(ValueError::Length {
                field: "reason",
                max: Self::MAX,
            });
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

macro_rules! display {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
display!(DisplayName, Email, Reason);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            Email::parse(" Li.Wei@Example.JP ").unwrap().as_str(),
            "li.wei@example.jp"
        );
        for bad in [
            "",
            "li wei@example.jp",
            "li@",
            "@example.jp",
            "li@example",
            "a@b@c.jp",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_reasons_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Li Wei ").unwrap().as_str(), "Li Wei");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"名".repeat(201)).is_err());
        assert!(DisplayName::parse(&"名".repeat(200)).is_ok());
        assert_eq!(
            Reason::parse(" Prime Day budget moved ").unwrap().as_str(),
            "Prime Day budget moved"
        );
        assert_eq!(
            Reason::parse(&"x".repeat(2_001)).unwrap_err().to_string(),
            "reason: must be 1 to 2000 characters"
        );
    }
}
