-- A login's second factor (see store/people.rs, `SecondFactor`): the
-- authenticator's shared secret (base32), when it was set up, the last
-- 30-second step whose code was accepted, so that a code works only once,
-- and the SHA-256 of each recovery code not used yet. They are set
-- together or not at all.
ALTER TABLE people_logins
    ADD COLUMN totp_secret    TEXT,
    ADD COLUMN totp_since     TEXT,
    ADD COLUMN totp_last_step BIGINT,
    ADD COLUMN totp_recovery  TEXT[],
    ADD CONSTRAINT people_logins_second_factor_whole CHECK (
        (totp_secret IS NULL) = (totp_since IS NULL)
        AND (totp_secret IS NULL) = (totp_last_step IS NULL)
        AND (totp_secret IS NULL) = (totp_recovery IS NULL)
    );

-- A new single-use token: the password was right and the code is awaited.
ALTER TABLE people_tokens
    DROP CONSTRAINT people_tokens_kind_check,
    ADD CONSTRAINT people_tokens_kind_check
        CHECK (kind IN ('verify_email', 'reset_password', 'invite', 'second_factor'));
