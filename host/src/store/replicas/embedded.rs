//! [`ReplicaStore`] for the embedded store: one process owns an embedded data
//! directory, so the only replica is this one, and its heartbeat is kept in
//! memory.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::{FORGET_AFTER, Heartbeat, ReplicaStore, ReplicaView};
use crate::store::StoreError;

/// Heartbeats in this process's memory.
#[derive(Default)]
pub struct MemoryReplicas {
    beats: Mutex<BTreeMap<String, (Heartbeat, SystemTime)>>,
    /// Each job's leader and the end of its term.
    jobs: Mutex<BTreeMap<String, (String, SystemTime)>>,
}

#[async_trait::async_trait]
impl ReplicaStore for MemoryReplicas {
    async fn heartbeat(&self, beat: &Heartbeat) -> Result<(), StoreError> {
        let now = SystemTime::now();
        let mut beats = self.beats.lock().expect("lock");
        beats.retain(|_, (_, at)| now.duration_since(*at).unwrap_or_default() < FORGET_AFTER);
        beats.insert(beat.id.clone(), (beat.clone(), now));
        Ok(())
    }

    async fn replicas(&self, live_within: Duration) -> Result<Vec<ReplicaView>, StoreError> {
        let now = SystemTime::now();
        let mut views: Vec<ReplicaView> = self
            .beats
            .lock()
            .expect("lock")
            .values()
            .map(|(beat, at)| ReplicaView {
                heartbeat: beat.clone(),
                last_heartbeat: crate::time::to_rfc3339((*at).into()),
                live: now.duration_since(*at).unwrap_or_default() <= live_within,
            })
            .collect();
        views.sort_by(|a, b| {
            (&a.heartbeat.started_at, &a.heartbeat.id)
                .cmp(&(&b.heartbeat.started_at, &b.heartbeat.id))
        });
        Ok(views)
    }

    async fn lead(&self, job: &str, holder: &str, term: Duration) -> Result<bool, StoreError> {
        let now = SystemTime::now();
        let mut jobs = self.jobs.lock().expect("lock");
        let free = jobs
            .get(job)
            .is_none_or(|(leader, until)| leader == holder || *until < now);
        if free {
            jobs.insert(job.to_string(), (holder.to_string(), now + term));
        }
        Ok(free)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::MemoryReplicas;

    async fn fresh() -> ((), Arc<MemoryReplicas>) {
        ((), Arc::default())
    }

    crate::store::replicas::conformance::suite!(fresh);
}
