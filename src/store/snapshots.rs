//! Snapshots of replayed engagements, so an as-of read folds only the events after the
//! nearest one instead of the engagement's whole history (`events::replay_at`).
//!
//! Sound because of what a snapshot holds: the model of one engagement with every one of
//! its events at or below `through` applied, where `through` is never above the position
//! the chainer has linked the log to. The chainer links in global order and never skips
//! an event, and events are immutable, so no event of the engagement at or below
//! `through` can appear or change later: the snapshot is final, on any server. Engagement
//! ids are random, so one process serving several databases cannot mix them up.
//!
//! Held in memory, bounded by the observations the models hold (the bulk of a model),
//! least recently used first out.

use kpi_ledger_domain::ids::EngagementId;
use kpi_ledger_domain::replay::Model;
use std::sync::{Arc, Mutex, OnceLock};

/// Events folded between two snapshots of one long replay.
pub const EVERY: usize = 5_000;

/// Most observations all snapshots together may hold (about 100 bytes each).
const MAX_HELD: usize = 1_500_000;

/// Most snapshots of one engagement.
const PER_ENGAGEMENT: usize = 24;

struct Entry {
    engagement: EngagementId,
    through: i64,
    model: Arc<Model>,
    size: usize,
    used: u64,
}

#[derive(Default)]
struct Snapshots {
    entries: Vec<Entry>,
    held: usize,
    tick: u64,
}

fn snapshots() -> &'static Mutex<Snapshots> {
    static SNAPSHOTS: OnceLock<Mutex<Snapshots>> = OnceLock::new();
    SNAPSHOTS.get_or_init(Default::default)
}

/// The newest snapshot of `engagement` at or below `at_most`: its position and model.
pub fn nearest(engagement: EngagementId, at_most: i64) -> Option<(i64, Arc<Model>)> {
    let mut snapshots = snapshots().lock().expect("snapshot cache");
    snapshots.tick += 1;
    let tick = snapshots.tick;
    let entry = snapshots
        .entries
        .iter_mut()
        .filter(|e| e.engagement == engagement && e.through <= at_most)
        .max_by_key(|e| e.through)?;
    entry.used = tick;
    Some((entry.through, entry.model.clone()))
}

/// Keeps `model` as the state of `engagement` through `through` (see the module's note
/// for what `through` may be).
pub fn keep(engagement: EngagementId, through: i64, model: &Model) {
    let size = model.size().max(1);
    if size > MAX_HELD / 2 {
        return;
    }
    let mut snapshots = snapshots().lock().expect("snapshot cache");
    if snapshots
        .entries
        .iter()
        .any(|e| e.engagement == engagement && e.through == through)
    {
        return;
    }
    snapshots.tick += 1;
    let used = snapshots.tick;
    snapshots.entries.push(Entry {
        engagement,
        through,
        model: Arc::new(model.clone()),
        size,
        used,
    });
    snapshots.held += size;
    // Out go the least recently used: beyond the engagement's count first, then
    // beyond the size.
    while snapshots
        .entries
        .iter()
        .filter(|e| e.engagement == engagement)
        .count()
        > PER_ENGAGEMENT
    {
        evict(&mut snapshots, Some(engagement));
    }
    while snapshots.held > MAX_HELD {
        evict(&mut snapshots, None);
    }
}

fn evict(snapshots: &mut Snapshots, of: Option<EngagementId>) {
    let oldest = snapshots
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| of.is_none_or(|id| e.engagement == id))
        .min_by_key(|(_, e)| e.used)
        .map(|(i, _)| i);
    if let Some(i) = oldest {
        let entry = snapshots.entries.swap_remove(i);
        snapshots.held -= entry.size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn the_nearest_snapshot_at_or_below_a_position_is_found() {
        let engagement = EngagementId(Uuid::new_v4());
        let model = Model::new(engagement);
        assert!(nearest(engagement, 100).is_none());
        keep(engagement, 10, &model);
        keep(engagement, 50, &model);
        assert_eq!(nearest(engagement, 9).map(|(at, _)| at), None);
        assert_eq!(nearest(engagement, 10).map(|(at, _)| at), Some(10));
        assert_eq!(nearest(engagement, 49).map(|(at, _)| at), Some(10));
        assert_eq!(nearest(engagement, 1_000).map(|(at, _)| at), Some(50));
        assert!(nearest(EngagementId(Uuid::new_v4()), 1_000).is_none());
        for at in 0..(PER_ENGAGEMENT as i64 + 5) {
            keep(engagement, 100 + at, &model);
        }
        let kept = snapshots()
            .lock()
            .unwrap()
            .entries
            .iter()
            .filter(|e| e.engagement == engagement)
            .count();
        assert_eq!(kept, PER_ENGAGEMENT);
    }
}
