//! Live scorecards kept between an engagement's changes.
//!
//! A live card is a function of the engagement's read models and nothing else (not the
//! clock, not the viewer). The projector links an event into its engagement's chain and
//! applies it to every read model in one transaction, so the engagement's chain head
//! names the state of its read models exactly: a card computed after reading head `h` is
//! at least as new as `h`, and stays right until the head moves. A read looks up the head
//! (one statement) and answers from here when a card of that head is kept; the viewer's
//! access is checked before, and the card is re-scoped to the viewer after.

use crate::scorecard::Scorecard;
use kpi_ledger_domain::ids::{EngagementId, MemberId};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Cards kept at most; the oldest kept goes first.
pub const MAX_CARDS: usize = 2_048;

/// Which card: the engagement, the period ("2026-06") and the member (None: the team).
pub type CardKey = (EngagementId, String, Option<MemberId>);

/// The server's kept cards (one per schema).
#[derive(Default)]
pub struct CardCache {
    inner: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    cards: HashMap<CardKey, (i64, Arc<Scorecard>)>,
    /// Keys in the order first kept, for eviction.
    order: VecDeque<CardKey>,
}

impl CardCache {
    /// The card kept for `key` at chain head `head`, if any.
    pub fn get(&self, key: &CardKey, head: i64) -> Option<Arc<Scorecard>> {
        let kept = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        kept.cards
            .get(key)
            .filter(|(at, _)| *at == head)
            .map(|(_, card)| card.clone())
    }

    /// Keeps `card`, computed after reading chain head `head`, unless a card of a later
    /// head is kept already.
    pub fn put(&self, key: CardKey, head: i64, card: Arc<Scorecard>) {
        let mut kept = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match kept.cards.get_mut(&key) {
            Some((at, _)) if *at > head => {}
            Some(slot) => *slot = (head, card),
            None => {
                kept.cards.insert(key.clone(), (head, card));
                kept.order.push_back(key);
                while kept.cards.len() > MAX_CARDS {
                    let Some(oldest) = kept.order.pop_front() else {
                        break;
                    };
                    kept.cards.remove(&oldest);
                }
            }
        }
    }
}
