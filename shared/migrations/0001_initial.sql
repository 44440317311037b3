-- Keel's initial schema: helpers later tables use.

-- Keeps an `updated_at timestamptz` column current on UPDATE:
--   CREATE TRIGGER t_updated_at BEFORE UPDATE ON t
--       FOR EACH ROW EXECUTE FUNCTION keel_set_updated_at();
CREATE OR REPLACE FUNCTION keel_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
