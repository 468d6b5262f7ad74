-- A training run may be asked for by a command (an operator's "retrain now", drift's request for a full
-- refit) rather than by the weekly schedule: who asked, the command id (a command runs once), its reason,
-- and the run's wall seconds to the millisecond (started_at/finished_at are whole seconds, too coarse for
-- runs of well under a second). ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS: one statement, so a
-- failure leaves the table as it was and the migration runs again whole.
ALTER TABLE training_runs
  ADD COLUMN requested_by String DEFAULT 'schedule',
  ADD COLUMN command_id String DEFAULT '',
  ADD COLUMN request_reason String DEFAULT '',
  ADD COLUMN seconds Float64 DEFAULT 0;
