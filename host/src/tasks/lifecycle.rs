//! A task's life after submission: running in the background, cancelling,
//! time limits, events, recovery after a restart, and retention.

use super::*;

impl Tasks {
    /// The privacy promise: for tasks finished before `cutoff` (unix
    /// seconds), deletes their outputs and references and blanks their
    /// prompts; the task record (model, status, cost) stays for billing.
    /// Returns how many tasks were purged.
    pub async fn purge_before(&self, cutoff: i64) -> Result<usize, TaskStoreError> {
        let mut purged = 0;
        let old: Vec<Task> = self
            .table
            .scan::<Task>()
            .filter_map(|item| item.ok().map(|(_, t)| t))
            .filter(|t| !t.purged && !t.flagged && t.status.is_final())
            .filter(|t| {
                t.completed_at
                    .as_deref()
                    .is_some_and(|c| crate::time::unix_seconds(c) < cutoff)
            })
            .collect();
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
            self.table.put(&task.id.clone(), &task).await?;
            purged += 1;
        }
        Ok(purged)
    }

    /// For every task the previous process left open (see `Tasks::open`):
    /// settles its hold if the task finished or was never stored, queues
    /// the events of a finished one, ends one whose hold was released, ends
    /// uncharged a synchronous one whose caller never got the answer, and
    /// runs the others again. Tasks that were over are not read. Returns
    /// how many tasks were resumed.
    pub async fn recover(self: &Arc<Self>) -> Result<usize, TaskStoreError> {
        // Task ids, in key order: oldest first (they are time-ordered), as
        // they were submitted. The index's completeness record is not one.
        let entries = self
            .open
            .scan_from::<Option<OpenEntry>>("task_", "task_")
            .collect::<Result<Vec<_>, _>>()?;
        let mut resumed = 0;
        for (id, entry) in entries {
            let task = self.table.get::<Task>(&id)?;
            let hold = self.ledger.hold_of(&id)?.map(|h| h.status);
            if entry.unwrap_or_default().synchronous
                && let Some(task) = &task
                && unanswered(task.status, hold)
            {
                // Its caller waited on a connection that died with the
                // process, and was never given the task's id: nobody can
                // receive the result, so nothing is charged.
                self.end_unanswered(task.clone()).await?;
                continue;
            }
            if hold == Some(crate::ledger::HoldStatus::Open) {
                let settled = match task.as_ref().map(|t| t.status) {
                    Some(Status::Succeeded) => self.ledger.capture(&id).await?,
                    None | Some(Status::Failed | Status::Canceled) => {
                        self.ledger.release(&id).await?
                    }
                    Some(Status::Queued | Status::Processing) => None,
                };
                if let Some(entry) = settled {
                    tracing::info!(task_id = %id, kind = ?entry.kind, "settled a hold left open by the previous process");
                }
            }
            match task {
                // Never stored: its hold (if any) was released above.
                None => self.open.remove_unflushed(&id)?,
                // Its events may not have been queued before a crash.
                Some(task) if task.status.is_final() => self.announce(&task).await?,
                Some(task) if hold == Some(crate::ledger::HoldStatus::Released) => {
                    // It was being failed or canceled when the process stopped.
                    self.finish_failed(
                        task,
                        "UPSTREAM_ERROR",
                        "the task was interrupted and its hold released",
                    )
                    .await?;
                }
                Some(task) => {
                    tracing::info!(task_id = %task.id, status = ?task.status, "resuming a task left unfinished");
                    self.take_slot(&task.owner, None)?;
                    self.start(task);
                    resumed += 1;
                }
            }
        }
        Ok(resumed)
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
            "UPSTREAM_ERROR",
            "the gateway stopped before it could answer; nothing was charged",
        )
        .await?;
        Ok(())
    }

    /// Runs a task in the background; its owner's slot (taken by the caller)
    /// is freed when it ends.
    pub(super) fn start(self: &Arc<Self>, task: Task) {
        let (tx, rx) = watch::channel(task.status);
        let cancel = Arc::new(tokio::sync::Notify::new());
        self.running.lock().expect("lock").insert(
            task.id.clone(),
            Running {
                status: rx,
                cancel: cancel.clone(),
            },
        );
        let this = self.clone();
        tokio::spawn(async move {
            let (id, owner) = (task.id.clone(), task.owner.clone());
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
                () = cancel.notified() => this.stop(&id, Status::Canceled, "canceled by the caller").await,
                () = tokio::time::sleep(limit.saturating_sub(age)) => {
                    let message = format!("the task did not finish within {}s", limit.as_secs());
                    this.stop(&id, Status::Failed, &message).await
                }
            };
            let final_status = outcome.unwrap_or_else(|e| {
                // Storage failed mid-task: the record stays unfinished and
                // is resumed at the next start.
                tracing::error!(task_id = %id, error = %e, "task storage failed");
                Status::Failed
            });
            this.free_slot(&owner);
            let _ = tx.send(final_status);
            this.running.lock().expect("lock").remove(&id);
        });
    }

    /// Cancels a queued or processing task of `owner`: stops it, releases its
    /// hold, asks the provider to stop. A task that finished first is
    /// returned as [`CancelError::Finished`].
    pub async fn cancel(&self, id: &str, owner: &str) -> Result<Task, CancelError> {
        let task = self.get(id, owner)?.ok_or(CancelError::NotFound)?;
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
                self.stop(id, Status::Canceled, "canceled by the caller")
                    .await?;
            }
        }
        let task = self.get(id, owner)?.ok_or(CancelError::NotFound)?;
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
        self.queue_events(task).await?;
        // The task is over and its events are queued: a start need not read
        // it again. (Unflushed: the next fsync makes it durable, after the
        // writes before it.)
        self.open.remove_unflushed(&task.id)?;
        Ok(())
    }

    async fn queue_events(&self, task: &Task) -> Result<(), TaskStoreError> {
        let event = match task.status {
            Status::Succeeded => "task.succeeded",
            Status::Failed => "task.failed",
            Status::Canceled => "task.canceled",
            Status::Queued | Status::Processing => return Ok(()),
        };
        let account_url = self
            .accounts
            .get(&task.owner)
            .ok()
            .and_then(|a| a.webhook_url);
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
    pub(super) async fn stop(
        &self,
        id: &str,
        to: Status,
        message: &str,
    ) -> Result<Status, TaskStoreError> {
        let Some(mut task) = self.table.get::<Task>(id)? else {
            return Ok(Status::Failed);
        };
        match task.status {
            Status::Succeeded => {
                self.ledger.capture(id).await?;
                self.announce(&task).await?;
                return Ok(Status::Succeeded);
            }
            Status::Failed | Status::Canceled => {
                self.ledger.release(id).await?;
                self.announce(&task).await?;
                return Ok(task.status);
            }
            Status::Queued | Status::Processing => {}
        }
        task.status = to;
        if to == Status::Failed {
            task.error = Some(TaskError {
                code: "UPSTREAM_TIMEOUT".to_string(),
                message: message.to_string(),
            });
        }
        task.completed_at = Some(now_rfc3339());
        // Refund first: a crash between the two leaves an unfinished task
        // with a released hold, which `recover` ends instead of re-running.
        self.ledger.release(id).await?;
        self.table.put(id, &task).await?;
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
                        tracing::warn!(task_id = %id, message = %e.message, "the provider could not cancel the job")
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
