//! Lists that grow are Relay connections: `first` (at most [`MAX_PAGE`], [`DEFAULT_PAGE`]
//! when omitted) items `after` an opaque cursor, with `pageInfo` and the `totalCount` of
//! the whole list. A cursor names its list and a place in it; a cursor of another list is
//! refused.

use crate::error::validation;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{OutputType, Result, SimpleObject};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Items of a page when `first` is omitted.
pub const DEFAULT_PAGE: usize = 50;
/// Most items one page may hold.
pub const MAX_PAGE: usize = 200;

/// What every connection tells beside its edges.
#[derive(SimpleObject)]
pub struct Counted {
    /// How many items the whole list holds.
    pub total_count: u64,
}

/// A page of `T`.
pub type Page<T> = Connection<String, T, Counted>;

/// The part of a list one request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Items to skip.
    pub offset: usize,
    /// Items to return.
    pub limit: usize,
}

/// The opaque cursor of the item at `offset` of `list`.
pub fn cursor(list: &str, offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{list}:{offset}"))
}

/// The place a cursor of `list` names (an offset, or for lists keyed otherwise the key
/// [`cursor`] was given).
pub fn decode(list: &str, cursor: &str) -> Result<usize> {
    let refused = || validation(format!("after: `{cursor}` is not a cursor of this list"));
    let text = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(refused)?;
    let (name, place) = text.split_once(':').ok_or_else(refused)?;
    if name != list {
        return Err(refused());
    }
    place.parse().map_err(|_| refused())
}

/// The window `first`/`after` ask for in `list`.
pub fn window(list: &str, first: Option<i32>, after: Option<&str>) -> Result<Window> {
    let limit = match first {
        None => DEFAULT_PAGE,
        Some(n) if n < 0 => return Err(validation("first: must be 0 or more")),
        Some(n) => (n as usize).min(MAX_PAGE),
    };
    let offset = match after {
        None => 0,
        Some(cursor) => decode(list, cursor)? + 1,
    };
    Ok(Window { offset, limit })
}

/// A page of `list` from the items of `window` and the list's total.
pub fn page<T: OutputType>(list: &str, window: Window, total: u64, items: Vec<T>) -> Page<T> {
    let end = window.offset + items.len();
    let mut connection = Connection::with_additional_fields(
        window.offset > 0,
        (end as u64) < total,
        Counted { total_count: total },
    );
    connection.edges.extend(
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| Edge::new(cursor(list, window.offset + i), item)),
    );
    connection
}

/// A page of a list held in memory.
pub fn slice<T: OutputType>(
    list: &str,
    items: Vec<T>,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<Page<T>> {
    let window = window(list, first, after)?;
    let total = items.len() as u64;
    let taken = items
        .into_iter()
        .skip(window.offset)
        .take(window.limit)
        .collect();
    Ok(page(list, window, total, taken))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_opaque_and_belong_to_their_list() {
        let c = cursor("imports", 4);
        assert!(!c.contains("imports") && !c.contains('4'), "{c}");
        assert_eq!(
            window("imports", Some(10), Some(&c)).unwrap(),
            Window {
                offset: 5,
                limit: 10
            }
        );
        assert!(window("payouts", Some(10), Some(&c)).is_err());
        assert!(window("imports", Some(10), Some("garbage")).is_err());
        assert_eq!(
            window("imports", Some(100_000), None).unwrap().limit,
            MAX_PAGE
        );
        assert_eq!(window("imports", None, None).unwrap().limit, DEFAULT_PAGE);
    }
}
