-- One checkpoint per read model, so one can be rebuilt (or a new one backfilled) alone.
-- Every read model starts where the single checkpoint of before had reached.
INSERT INTO projection_checkpoints (name, position)
SELECT 'users', position FROM projection_checkpoints WHERE name = 'read_models';
INSERT INTO projection_checkpoints (name, position)
SELECT 'engagements', position FROM projection_checkpoints WHERE name = 'read_models';
INSERT INTO projection_checkpoints (name, position)
SELECT 'kpis', position FROM projection_checkpoints WHERE name = 'read_models';
INSERT INTO projection_checkpoints (name, position)
SELECT 'observations', position FROM projection_checkpoints WHERE name = 'read_models';
INSERT INTO projection_checkpoints (name, position)
SELECT 'imports', position FROM projection_checkpoints WHERE name = 'read_models';
INSERT INTO projection_checkpoints (name, position)
SELECT 'reviews', position FROM projection_checkpoints WHERE name = 'read_models';
INSERT INTO projection_checkpoints (name, position)
SELECT 'plans', position FROM projection_checkpoints WHERE name = 'read_models';
INSERT INTO projection_checkpoints (name, position)
SELECT 'payouts', position FROM projection_checkpoints WHERE name = 'read_models';
DELETE FROM projection_checkpoints WHERE name = 'read_models';
