//! A task's life after submission: running in the background, cancelling,
//! time limits, events, recovery after a restart, and retention.

use super::*;
use crate::store::tasks::OpenTask;

impl Tasks {
    /// The privacy promise: for tasks finished before `cutoff` (unix
    /// seconds), deletes their outputs and references and blanks their
    /// prompts; the task record (model, status, cost) stays for billing.
    /// Returns how many tasks were purged.
    pub async fn purge_before(&self, cutoff: i64) -> Result<usize, TaskStoreError> {
        let mut purged = 0;
        let mut old: Vec<Task> = Vec::new();
        self.store
            .all_tasks(&mut |t| {
                let due = !t.purged
                    && !t.flagged
                    && t.status.is_final()
                    && t.completed_at
                        .as_deref()
                        .is_some_and(|c| crate::time::unix_seconds(c) < cutoff);
                if due {
                    old.push(t);
                }
                true
            })
            .await?;
        for mut task in old {
            let files: Vec<String> = task
                .outputs
                .iter()
                .map(|o| o.file_id.clone())
                .chain(task.request.references.iter().map(|r| r.file_id.clone()))
                .collect();
            self.media.delete(&files).await?;
            task.request.prompt.clear();
            task.outputs.iter_mut().for_each(|o| o.text = None);
            task.metadata = None;
            task.request.negative_prompt = None;
            task.request.extra_params = "{}".into();
            task.purged = true;
            self.store.save_task(&task, true).await?;
            purged += 1;
        }
        Ok(purged)
    }

    /// For every task the previous process left open (not finished, or
    /// finished with its events not yet queued): drops one never stored
    /// (releasing its hold), ends uncharged a synchronous one whose caller
    /// never got the answer, settles the hold of a finished one as its
    /// record says and queues its events, and runs the others again.
    /// Tasks that were over are not read. Returns how many tasks were
    /// resumed.
    pub async fn recover(self: &Arc<Self>) -> Result<usize, TaskStoreError> {
        let open = self.store.open_tasks().await?;
        self.resume(open).await
    }

    /// On a database replicas share: takes over, as [`Tasks::recover`]
    /// does at start, the open tasks of replicas that stopped renewing
    /// their leases. Returns how many tasks were resumed.
    pub async fn take_over(self: &Arc<Self>) -> Result<usize, TaskStoreError> {
        let lapsed = self.store.lapsed_tasks().await?;
        self.resume(lapsed).await
    }

    async fn resume(self: &Arc<Self>, open: Vec<OpenTask>) -> Result<usize, TaskStoreError> {
        use crate::ledger::HoldStatus;
        let mut resumed = 0;
        // Oldest first (ids are time-ordered), as they were submitted.
        for open in open {
            let OpenTask {
                id,
                synchronous,
                task,
                hold,
            } = open;
            if self.running.lock().expect("lock").contains_key(&id) {
                // Running here: its lease lapsed (renewals failed) and was
                // taken back.
                continue;
            }
            let Some(mut task) = task else {
                // Its creation was cut off: nobody was given its id.
                if let Some(entry) = self.store.abandon_task(&id).await? {
                    tracing::info!(task_id = %id, kind = ?entry.kind, "released the hold of a task the previous process never stored");
                }
                continue;
            };
            let hold = hold.map(|h| h.status);
            if synchronous && unanswered(task.status, hold) {
                // Its caller waited on a connection that died with the
                // process, and was never given the task's id: nobody can
                // receive the result, so nothing is charged.
                self.end_unanswered(task).await?;
                continue;
            }
            if task.status.is_final() {
                if hold == Some(HoldStatus::Open) {
                    // Its settlement did not commit: settle it as the task
                    // record says (a success, or a failure charged, is
                    // captured).
                    let charged = task.status == Status::Succeeded
                        || task
                            .hold
                            .as_ref()
                            .is_some_and(|h| h.status == HoldStatus::Captured);
                    let settle = if charged {
                        Settle::Capture
                    } else {
                        Settle::Release
                    };
                    if let Some(entry) = self.store.finish_task(&mut task, settle).await? {
                        tracing::info!(task_id = %id, kind = ?entry.kind, "settled a hold left open by the previous process");
                    }
                }
                // Its events may not have been queued before a crash.
                self.announce(&task).await?;
            } else if hold == Some(HoldStatus::Released) {
                // An earlier version released a hold before failing its
                // task, and stopped between the two.
                self.finish_failed(
                    task,
                    ErrorCode::UpstreamError,
                    "the task was interrupted and its hold released",
                )
                .await?;
            } else {
                tracing::info!(task_id = %task.id, status = ?task.status, "resuming a task left unfinished");
                self.start(task, None);
                resumed += 1;
            }
        }
        Ok(resumed)
    }

    /// On a database replicas share: renews this replica's leases on the
    /// tasks it runs, and once a lease period takes over the open tasks
    /// whose leases lapsed (see [`Tasks::take_over`]): those of replicas
    /// that died, and its own whose run ended on a storage failure.
    pub async fn keep_leases(self: Arc<Self>, replica: crate::replicas::Replica) {
        let mut renew = tokio::time::interval(replica.renew_every());
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut claimed = tokio::time::Instant::now();
        loop {
            renew.tick().await;
            let running: Vec<String> = self.running.lock().expect("lock").keys().cloned().collect();
            if let Err(e) = self.store.renew_leases(&running).await {
                tracing::warn!(error = %e, "could not renew this replica's task leases");
            }
            if claimed.elapsed() < replica.lease {
                continue;
            }
            claimed = tokio::time::Instant::now();
            match self.take_over().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(tasks = n, "took over the tasks of a replica that stopped"),
                Err(e) => {
                    tracing::warn!(error = %e, "could not take over the tasks of stopped replicas")
                }
            }
        }
    }

    /// Gives up this replica's leases (at a graceful stop).
    pub async fn release_leases(&self) -> Result<u64, TaskStoreError> {
        Ok(self.store.release_leases().await?)
    }

    /// Ends a synchronous task whose answer was never sent (see
    /// [`unanswered`]): failed, its
    /// hold released, and any outputs it had stored deleted (they were
    /// neither delivered nor paid for).
    async fn end_unanswered(&self, mut task: Task) -> Result<(), TaskStoreError> {
        tracing::info!(task_id = %task.id, status = ?task.status, "ending a synchronous task whose caller never got the answer; nothing is charged");
        let files: Vec<String> = task.outputs.drain(..).map(|o| o.file_id).collect();
        if !files.is_empty() {
            self.media.delete(&files).await?;
        }
        task.metadata = None;
        task.progress = 0;
        self.finish_failed(
            task,
            ErrorCode::UpstreamError,
            "the gateway stopped before it could answer; nothing was charged",
        )
        .await?;
        Ok(())
    }

    /// Runs a task in the background. `account_webhook_url` is its owner's
    /// webhook endpoint if the caller knows it (otherwise the account is
    /// read when the task ends).
    pub(super) fn start(self: &Arc<Self>, task: Task, account_webhook_url: Option<Option<String>>) {
        let (tx, rx) = watch::channel(task.status);
        let cancel = Arc::new(tokio::sync::Notify::new());
        self.running.lock().expect("lock").insert(
            task.id.clone(),
            Running {
                status: rx,
                cancel: cancel.clone(),
                ended: Arc::default(),
                account_webhook_url,
                model: task.model.clone(),
                held: task
                    .hold
                    .as_ref()
                    .filter(|h| h.status == crate::ledger::HoldStatus::Open)
                    .map(|h| h.amount),
            },
        );
        let this = self.clone();
        // A synchronous task is not stored until it ends: stopping it starts
        // from this.
        let submitted = task.clone();
        // Its own span (a task outlives the request that made it), in the
        // request's trace.
        let span = if crate::telemetry::exporting() {
            let span = tracing::info_span!(parent: None, "task", task_id = %task.id, request_id = %task.request_id, model = %task.model);
            crate::telemetry::continue_trace(&span);
            span
        } else {
            tracing::Span::none()
        };
        let run = async move {
            let id = task.id.clone();
            let limit = this
                .timeouts
                .by_model
                .get(&task.model)
                .copied()
                .unwrap_or(this.timeouts.default);
            let age = Duration::from_secs(
                (crate::time::now_unix() - crate::time::unix_seconds(&task.created_at)).max(0)
                    as u64,
            );
            let outcome = tokio::select! {
                r = this.run(task) => r,
                () = cancel.notified() => this.stop(&submitted, Status::Canceled, "canceled by the caller").await,
                () = tokio::time::sleep(limit.saturating_sub(age)) => {
                    let message = format!("the task did not finish within {}s", limit.as_secs());
                    this.stop(&submitted, Status::Failed, &message).await
                }
            };
            let final_status = outcome.unwrap_or_else(|e| {
                // Storage failed mid-task: the record stays unfinished and
                // is resumed at the next start.
                tracing::error!(task_id = %id, error = %e, "task storage failed");
                Status::Failed
            });
            let _ = tx.send(final_status);
            let ended = this.running.lock().expect("lock").remove(&id);
            if let Some(ended) = ended {
                crate::metrics::metrics().task_finished(&ended.model, final_status.as_str());
            }
        };
        // Movable: a plugin computing for long moves it off a serving thread.
        tokio::spawn(crate::serving::Movable::new(
            tracing::Instrument::instrument(run, span),
        ));
    }

    /// Cancels a queued or processing task of `owner`: stops it, releases its
    /// hold, asks the provider to stop. A task that finished first is
    /// returned as [`CancelError::Finished`].
    pub async fn cancel(&self, id: &str, owner: &str) -> Result<Task, CancelError> {
        let task = self.get(id, owner).await?.ok_or(CancelError::NotFound)?;
        if task.status.is_final() {
            return Err(CancelError::Finished(Box::new(task)));
        }
        let running = self.running.lock().expect("lock").get(id).cloned();
        match running {
            Some(r) => {
                r.cancel.notify_one();
                let mut status = r.status;
                let _ = status.wait_for(|s| s.is_final()).await;
            }
            None => {
                self.stop(&task, Status::Canceled, "canceled by the caller")
                    .await?;
            }
        }
        let task = self.get(id, owner).await?.ok_or(CancelError::NotFound)?;
        if task.status == Status::Canceled {
            Ok(task)
        } else {
            Err(CancelError::Finished(Box::new(task)))
        }
    }

    /// Queues the events of a finished task for its own webhook URL and its
    /// account's endpoint (idempotent: each pair is queued once).
    pub(super) async fn announce(&self, task: &Task) -> Result<(), TaskStoreError> {
        if !task.status.is_final() {
            return Ok(());
        }
        if let Some(running) = self.running.lock().expect("lock").get(&task.id) {
            let _ = running.ended.set(task.clone());
        }
        self.queue_events(task).await?;
        // The task is over and its events are queued: a start need not read
        // it again. (Unflushed: the next fsync makes it durable, after the
        // writes before it.)
        self.store.close_task(&task.id).await?;
        Ok(())
    }

    async fn queue_events(&self, task: &Task) -> Result<(), TaskStoreError> {
        let event = match task.status {
            Status::Succeeded => "task.succeeded",
            Status::Failed => "task.failed",
            Status::Canceled => "task.canceled",
            Status::Queued | Status::Processing => return Ok(()),
        };
        let known = self
            .running
            .lock()
            .expect("lock")
            .get(&task.id)
            .and_then(|r| r.account_webhook_url.clone());
        let account_url = match known {
            Some(url) => url,
            None => self
                .accounts
                .get(&task.owner)
                .await
                .ok()
                .and_then(|a| a.webhook_url),
        };
        let mut targets: Vec<&String> = task.webhook_url.iter().chain(account_url.iter()).collect();
        targets.dedup();
        if targets.is_empty() {
            return Ok(());
        }
        let data = serde_json::json!({
            "task_id": task.id,
            "type": task.kind,
            "model": task.model,
            "status": task.status,
            "created_at": task.created_at,
            "completed_at": task.completed_at,
            "outputs": task.outputs.iter().map(|o| serde_json::json!({
                "url": format!("/v1/files/{}/content", o.file_id), "file_id": o.file_id,
                "mime_type": o.mime, "width": o.width, "height": o.height,
            })).collect::<Vec<_>>(),
            "error": task.error.as_ref().map(|e| serde_json::json!({ "code": e.code, "message": e.message })),
        });
        for url in targets {
            self.webhooks
                .enqueue(&task.owner, &task.id, event, url, data.clone())
                .await?;
        }
        Ok(())
    }

    /// Ends a task that was interrupted (canceled or timed out) as `to`,
    /// unless it reached a final state first; settles its hold either way
    /// (idempotently) and asks the provider to stop an upstream job.
    /// `submitted` is the task as submitted, for one not stored.
    pub(super) async fn stop(
        &self,
        submitted: &Task,
        to: Status,
        message: &str,
    ) -> Result<Status, TaskStoreError> {
        let id = submitted.id.as_str();
        let mut task = match self.store.task(id).await? {
            Some(task) => task,
            None => submitted.clone(),
        };
        match task.status {
            Status::Succeeded => {
                self.store.finish_task(&mut task, Settle::Capture).await?;
                self.announce(&task).await?;
                return Ok(Status::Succeeded);
            }
            Status::Failed | Status::Canceled => {
                self.store.finish_task(&mut task, Settle::Release).await?;
                self.announce(&task).await?;
                return Ok(task.status);
            }
            Status::Queued | Status::Processing => {}
        }
        task.status = to;
        if to == Status::Failed {
            task.error = Some(TaskError {
                code: ErrorCode::UpstreamTimeout.as_str().to_string(),
                message: message.to_string(),
            });
        }
        task.completed_at = Some(now_rfc3339());
        self.store.finish_task(&mut task, Settle::Release).await?;
        if let Some(handle) = &task.handle {
            // The plugin serving the model that accepted the job cancels it,
            // under that model's id (the handle is the contract across
            // plugin versions).
            let accepted = task.target.as_deref().unwrap_or(&task.model);
            let target = self.catalogue.read().expect("lock").serving(accepted);
            if let Some(target) = target {
                let input = CallInput {
                    request_id: task.request_id.clone(),
                    blobs: Vec::new(),
                };
                match target.plugin.cancel(&input, &target.model, handle).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(task_id = %id, message = %crate::plugins::printable(&e.message, 4096), "the provider could not cancel the job")
                    }
                    Err(e) => {
                        tracing::warn!(task_id = %id, error = %e, "the provider plugin failed to cancel the job")
                    }
                }
            }
        }
        self.announce(&task).await?;
        Ok(to)
    }
}

/// Whether a synchronous task left open by the previous process can have
/// been answered: not while it was still running, nor once it succeeded if
/// its capture (committed before the answer) was not. An unbilled task that
/// succeeded was committed before its answer too, so it may have been
/// answered: it is kept.
fn unanswered(status: Status, hold: Option<crate::ledger::HoldStatus>) -> bool {
    use crate::ledger::HoldStatus;
    match status {
        // A captured hold on a running task: it was being failed with a
        // charge (an intercepted output), which recovery finishes.
        Status::Queued | Status::Processing => hold != Some(HoldStatus::Captured),
        Status::Succeeded => hold == Some(HoldStatus::Open),
        Status::Failed | Status::Canceled => false,
    }
}

#[cfg(test)]
mod tests {
    use super::unanswered;
    use crate::ledger::HoldStatus::{Captured, Open, Released};
    use crate::tasks::Status::{Canceled, Failed, Processing, Queued, Succeeded};

    #[test]
    fn only_results_that_cannot_have_been_answered_are_ended() {
        // Still running: nobody got an answer, billed or not.
        for hold in [None, Some(Open), Some(Released)] {
            assert!(unanswered(Queued, hold), "{hold:?}");
            assert!(unanswered(Processing, hold), "{hold:?}");
        }
        // Being failed with a charge: recovery finishes that.
        assert!(!unanswered(Processing, Some(Captured)));
        // Succeeded: answered only once the capture was committed; an
        // unbilled success was committed before its answer.
        assert!(unanswered(Succeeded, Some(Open)));
        assert!(!unanswered(Succeeded, Some(Captured)));
        assert!(!unanswered(Succeeded, None));
        // Over: nothing to undo.
        assert!(!unanswered(Failed, Some(Released)));
        assert!(!unanswered(Canceled, None));
    }
}
