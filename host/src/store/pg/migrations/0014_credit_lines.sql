-- Credit lines: an account may owe up to its credit line, so its balance
-- may go below zero (down to minus the line, checked by the conditional
-- UPDATE of the ledger's totals, which knows each entry's floor). The
-- totals keep only the bound that holds for every account: nothing held
-- below zero.
ALTER TABLE accounts
    ADD COLUMN credit_line BIGINT NOT NULL DEFAULT 0 CHECK (credit_line >= 0);

ALTER TABLE ledger_balances DROP CONSTRAINT ledger_balances_check;
ALTER TABLE ledger_balances ADD CONSTRAINT ledger_balances_held_check CHECK (held >= 0);
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_held_check CHECK (held_after >= 0);

-- An account suspended because what it owes is overdue, and the notice's
-- state once the amount due is paid (the suspension lifted by itself).
ALTER TABLE moderation_notices DROP CONSTRAINT moderation_notices_action_check;
ALTER TABLE moderation_notices ADD CONSTRAINT moderation_notices_action_check
    CHECK (action IN ('key_suspended', 'account_suspended', 'credits_frozen',
                      'account_suspended_overdue'));
ALTER TABLE moderation_notices DROP CONSTRAINT moderation_notices_status_check;
ALTER TABLE moderation_notices ADD CONSTRAINT moderation_notices_status_check
    CHECK (status IN ('open', 'appealed', 'reinstated', 'upheld', 'paid'));
