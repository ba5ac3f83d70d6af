-- Work exactly one replica does. An open task is run by the replica that
-- holds its lease, renewed while it runs; a lease that lapsed (its replica
-- died) is claimed by another replica, which resumes the task. A pending
-- webhook delivery is claimed the same way for each attempt. No lease (or
-- one from before this migration): anyone may claim it.
ALTER TABLE tasks_open
    ADD COLUMN lease_holder TEXT,
    ADD COLUMN lease_until  TIMESTAMPTZ;

ALTER TABLE webhook_deliveries
    ADD COLUMN claimed_by    TEXT,
    ADD COLUMN claimed_until TIMESTAMPTZ;

-- Each replica's own leases, renewed in one statement.
CREATE INDEX tasks_open_by_lease_holder ON tasks_open (lease_holder)
    WHERE lease_holder IS NOT NULL;
CREATE INDEX webhook_deliveries_by_claimant ON webhook_deliveries (claimed_by)
    WHERE claimed_by IS NOT NULL;
