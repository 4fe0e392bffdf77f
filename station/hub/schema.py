"""The hub's PostgreSQL schema, as versioned migrations (like the station store's), and its rules.

This module and ``station.hub.queries`` are the hub's store: every PostgreSQL statement of the
hub lives in them (the station's SQLite statements live under ``station/store/``).

The hub holds the same insert-only facts as the stations, one generic table for all of them:
``hub.facts`` keeps each row as the exact JSON line its station signed (``station.sync.digest``),
with its key, station, sequence and clock taken out of that line by the server itself. A push is
one transaction: the station inserts its rows (``facts``, ``push_tables``), then calls
``hub.commit_push``, which refuses the whole push unless the manifest is signed by the key the
master enrolled for that station (Ed25519, verified in the database: ``station.hub.ed25519``) and
the rows are exactly the signed ones (counts and row digests recomputed by the server). Rows
reference their push with a deferred foreign key, so rows without a verified push cannot commit.
Images are content-addressed: chunks, and a row in ``hub.images`` that only ``hub.commit_image``
(or ``hub.put_image``) writes after hashing the chunks — or, on a hub with an image folder
(migration 3), files in that folder that the writing station hashed, recorded by
``hub.record_folder_images``.

Station roles may read everything and insert their own facts; they never update or delete (no
such privilege exists for them) — see ``station.hub.queries.ensure_roles``.
"""

from __future__ import annotations

from dataclasses import dataclass

from station.hub.ed25519 import FUNCTIONS as ED25519
from station.sync.manifest import PUSH_FORMAT

SCHEMA = "hub"
IMAGE_CHUNK = 1 << 20                 # bytes per image chunk of a streamed image
WHOLE_IMAGE = 8 << 20                 # images up to this size go in one statement (hub.put_image)
IN_DATABASE, IN_FOLDER = "database", "folder"     # where an image's bytes are (hub.images.place)
MAX_IMAGE_BYTES = 256 << 20           # as a bundle's image limit (station.sync.archive.Limits)
REFUSED = "HB001"                     # SQLSTATE of every refusal raised by the hub's functions

BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS hub;
CREATE TABLE IF NOT EXISTS hub.migrations (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT session_user
);
"""

_REFUSE = f"""
-- Every refusal: SQLSTATE {REFUSED}, the reason as message, details as JSON.
CREATE OR REPLACE FUNCTION hub.refuse(reason text, detail jsonb DEFAULT '{{}}') RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = '{REFUSED}', MESSAGE = reason, DETAIL = detail::text;
END $$;

-- The station whose role is running the statement (NULL for the hub's owner and others).
CREATE OR REPLACE FUNCTION hub.current_station() RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT station_id FROM hub.stations WHERE role_name = current_user
$$;
"""

V1_TABLES = """
CREATE TABLE hub.stations (
    station_id text PRIMARY KEY CHECK (length(station_id) BETWEEN 1 AND 64),
    fingerprint text NOT NULL UNIQUE,
    public_key bytea NOT NULL UNIQUE CHECK (length(public_key) = 32),
    public_pem text NOT NULL,
    role_name text NOT NULL UNIQUE,
    enrolled_at timestamptz NOT NULL DEFAULT now(),
    enrolled_by text NOT NULL
);

CREATE TABLE hub.pushes (
    push_id uuid PRIMARY KEY,
    station_id text NOT NULL REFERENCES hub.stations,
    push_seq bigint NOT NULL CHECK (push_seq > 0),
    manifest bytea NOT NULL,
    signature bytea NOT NULL,
    manifest_sha256 text NOT NULL UNIQUE,
    school_code text,
    schema_version integer NOT NULL,
    row_count bigint NOT NULL,
    max_seq bigint,
    pushed_at timestamptz NOT NULL DEFAULT now(),
    pushed_by text NOT NULL DEFAULT session_user,
    UNIQUE (station_id, push_seq)
);

CREATE TABLE hub.push_tables (
    push_id uuid NOT NULL REFERENCES hub.pushes DEFERRABLE INITIALLY DEFERRED,
    table_name text COLLATE "C" NOT NULL CHECK (table_name ~ '^[a-z][a-z0-9_]{0,62}$'),
    columns text[] NOT NULL,
    PRIMARY KEY (push_id, table_name)
);

CREATE TABLE hub.facts (
    table_name text COLLATE "C" NOT NULL CHECK (table_name ~ '^[a-z][a-z0-9_]{0,62}$'),
    push_id uuid NOT NULL REFERENCES hub.pushes DEFERRABLE INITIALLY DEFERRED,
    line text NOT NULL,
    id text COLLATE "C" GENERATED ALWAYS AS (line::jsonb ->> 0) STORED,
    station_id text GENERATED ALWAYS AS (line::jsonb ->> 1) STORED,
    seq bigint GENERATED ALWAYS AS ((line::jsonb ->> 2)::bigint) STORED,
    hlc text GENERATED ALWAYS AS (line::jsonb ->> 3) STORED,
    CHECK (seq IS NOT NULL AND hlc IS NOT NULL),
    PRIMARY KEY (table_name, station_id, id),
    UNIQUE (station_id, table_name, seq)
);
CREATE INDEX facts_by_push ON hub.facts (push_id, table_name, id);

CREATE TABLE hub.images (
    sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size bigint NOT NULL CHECK (size >= 0),
    chunks integer NOT NULL CHECK (chunks >= 0),
    stored_at timestamptz NOT NULL DEFAULT now(),
    stored_by text NOT NULL DEFAULT session_user
);

CREATE TABLE hub.image_chunks (
    sha256 text NOT NULL REFERENCES hub.images DEFERRABLE INITIALLY DEFERRED,
    n integer NOT NULL CHECK (n >= 0),
    data bytea NOT NULL,
    PRIMARY KEY (sha256, n)
);
-- JPEG does not compress: do not let the server try.
ALTER TABLE hub.image_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

"""

V1_POLICIES = """
ALTER TABLE hub.facts ENABLE ROW LEVEL SECURITY;
ALTER TABLE hub.push_tables ENABLE ROW LEVEL SECURITY;
ALTER TABLE hub.image_chunks ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone_reads ON hub.facts FOR SELECT USING (true);
CREATE POLICY everyone_reads ON hub.push_tables FOR SELECT USING (true);
CREATE POLICY everyone_reads ON hub.image_chunks FOR SELECT USING (true);
-- A station inserts its own rows, into a push that is not committed yet (commit_push checks it).
CREATE POLICY own_rows ON hub.facts FOR INSERT WITH CHECK (
    station_id = (SELECT hub.current_station())
    AND NOT EXISTS (SELECT 1 FROM hub.pushes p WHERE p.push_id = facts.push_id));
CREATE POLICY open_push ON hub.push_tables FOR INSERT WITH CHECK (
    (SELECT hub.current_station()) IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM hub.pushes p WHERE p.push_id = push_tables.push_id));
CREATE POLICY new_image ON hub.image_chunks FOR INSERT WITH CHECK (
    (SELECT hub.current_station()) IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM hub.images i WHERE i.sha256 = image_chunks.sha256));
"""

_CALLER = """
  SELECT station_id INTO caller FROM hub.stations WHERE role_name = session_user;
  IF caller IS NULL AND NOT pg_has_role(session_user,
       (SELECT nspowner FROM pg_namespace WHERE nspname = 'hub'), 'USAGE') THEN
    PERFORM hub.refuse('not_a_station', jsonb_build_object('role', session_user));
  END IF;
"""

_MEMBERS_V1 = """  FOR member IN SELECT x FROM jsonb_object_keys(m->'members') x LOOP
    IF NOT EXISTS (SELECT 1 FROM hub.images i WHERE 'images/' || i.sha256 = member) THEN
      PERFORM hub.refuse('missing_image', jsonb_build_object('member', left(member, 80)));
    END IF;
  END LOOP;
"""

# Migration 4: the same check in one statement that finds each image by its key (the loop above
# compared every member with every image of the hub: quadratic, the bulk of a large push's
# commit on a hub that already holds thousands of images).
_MEMBERS_V4 = """  SELECT x INTO member FROM jsonb_object_keys(m->'members') x
   WHERE left(x, 7) IS DISTINCT FROM 'images/'
      OR NOT EXISTS (SELECT 1 FROM hub.images i WHERE i.sha256 = substr(x, 8))
   LIMIT 1;
  IF FOUND THEN
    PERFORM hub.refuse('missing_image', jsonb_build_object('member', left(member, 80)));
  END IF;
"""


def _commit_push(members: str) -> str:
    """``hub.commit_push`` with its check that every listed image is at the hub (``members``)."""
    return f"""
-- Verify a push in its own transaction and record it; refuse it whole otherwise.
CREATE OR REPLACE FUNCTION hub.commit_push(p_push uuid, p_manifest bytea, p_signature bytea)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  m jsonb; st text; caller text; k hub.stations%ROWTYPE; t record; got record;
  header text; listed text[]; present text[]; next_seq bigint; total bigint := 0; member text;
BEGIN
  {_CALLER}
  BEGIN
    m := convert_from(p_manifest, 'UTF8')::jsonb;
  EXCEPTION WHEN others THEN
    PERFORM hub.refuse('manifest_json');
  END;
  IF jsonb_typeof(m) IS DISTINCT FROM 'object' OR m->>'format' IS DISTINCT FROM '{PUSH_FORMAT}'
     OR jsonb_typeof(m->'rows') IS DISTINCT FROM 'object'
     OR jsonb_typeof(m->'row_digests') IS DISTINCT FROM 'object'
     OR jsonb_typeof(m->'members') IS DISTINCT FROM 'object' THEN
    PERFORM hub.refuse('manifest_field');
  END IF;
  st := m->>'station_id';
  IF caller IS NOT NULL AND caller IS DISTINCT FROM st THEN
    PERFORM hub.refuse('other_station', jsonb_build_object('station', st, 'role_station', caller));
  END IF;
  SELECT * INTO k FROM hub.stations WHERE station_id = st;
  IF NOT FOUND THEN
    PERFORM hub.refuse('not_enrolled', jsonb_build_object('station', st,
                       'fingerprint', m->>'signing_key'));
  END IF;
  IF k.fingerprint IS DISTINCT FROM m->>'signing_key' THEN
    PERFORM hub.refuse('not_enrolled', jsonb_build_object('station', st,
                       'fingerprint', m->>'signing_key', 'enrolled', k.fingerprint));
  END IF;
  IF NOT hub.ed25519_verify(k.public_key, p_manifest, p_signature) THEN
    PERFORM hub.refuse('bad_signature', jsonb_build_object('station', st,
                       'enrolled', k.fingerprint));
  END IF;
  IF EXISTS (SELECT 1 FROM hub.facts f WHERE f.push_id = p_push AND f.station_id IS DISTINCT FROM st) THEN
    PERFORM hub.refuse('foreign_rows', jsonb_build_object('station', st));
  END IF;
  SELECT coalesce(array_agg(x ORDER BY x), '{{}}') INTO listed FROM jsonb_object_keys(m->'rows') x;
  SELECT coalesce(array_agg(pt.table_name::text ORDER BY pt.table_name), '{{}}') INTO present
    FROM hub.push_tables pt WHERE pt.push_id = p_push;
  IF listed IS DISTINCT FROM present OR EXISTS (
       SELECT 1 FROM hub.facts f WHERE f.push_id = p_push AND f.table_name <> ALL (present)) THEN
    PERFORM hub.refuse('unlisted_table', jsonb_build_object('signed', listed, 'sent', present));
  END IF;
  FOR t IN SELECT pt.table_name, pt.columns FROM hub.push_tables pt WHERE pt.push_id = p_push LOOP
    IF t.columns[1:4] IS DISTINCT FROM ARRAY['id', 'station_id', 'seq', 'hlc']
       OR EXISTS (SELECT 1 FROM unnest(t.columns) c WHERE c !~ '^[a-z_][a-z0-9_]{{0,62}}$') THEN
      PERFORM hub.refuse('not_fact_table', jsonb_build_object('table', t.table_name));
    END IF;
    header := '["' || t.table_name || '",[' ||
              (SELECT string_agg('"' || c || '"', ',' ORDER BY i)
                 FROM unnest(t.columns) WITH ORDINALITY AS u(c, i)) || ']]' || E'\\n';
    SELECT count(*) AS n,
           encode(sha256(convert_to(header || coalesce(string_agg(f.line || E'\\n', ''
                  ORDER BY f.id), ''), 'UTF8')), 'hex') AS digest
      INTO got FROM hub.facts f WHERE f.push_id = p_push AND f.table_name = t.table_name;
    IF got.n IS DISTINCT FROM (m->'rows'->>t.table_name)::bigint THEN
      PERFORM hub.refuse('row_count', jsonb_build_object('table', t.table_name, 'count', got.n,
                         'signed', m->'rows'->t.table_name));
    END IF;
    IF got.digest IS DISTINCT FROM m->'row_digests'->>t.table_name THEN
      PERFORM hub.refuse('row_digest', jsonb_build_object('table', t.table_name));
    END IF;
    total := total + got.n;
  END LOOP;
{members}  PERFORM pg_advisory_xact_lock(hashtext('hub.push:' || st));
  SELECT coalesce(max(push_seq), 0) + 1 INTO next_seq FROM hub.pushes WHERE station_id = st;
  INSERT INTO hub.pushes (push_id, station_id, push_seq, manifest, signature, manifest_sha256,
                          school_code, schema_version, row_count, max_seq)
  VALUES (p_push, st, next_seq, p_manifest, p_signature, encode(sha256(p_manifest), 'hex'),
          m->>'school_code', (m->>'schema_version')::integer, total,
          (SELECT max(f.seq) FROM hub.facts f WHERE f.push_id = p_push));
  RETURN next_seq;
END $$;
"""


V1_FUNCTIONS = f"""
{_commit_push(_MEMBERS_V1)}
-- Hash an image's chunks (inserted in this transaction) and record it; refuse a wrong one.
CREATE OR REPLACE FUNCTION hub.commit_image(p_sha text, p_size bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE caller text; got record; actual text;
BEGIN
  {_CALLER}
  IF p_sha !~ '^[0-9a-f]{{64}}$' THEN
    PERFORM hub.refuse('image_name', jsonb_build_object('sha', left(p_sha, 80)));
  END IF;
  IF EXISTS (SELECT 1 FROM hub.images WHERE sha256 = p_sha) THEN
    RETURN false;
  END IF;
  IF p_size > {MAX_IMAGE_BYTES} THEN
    PERFORM hub.refuse('image_too_large', jsonb_build_object('sha', p_sha, 'size', p_size));
  END IF;
  SELECT count(*) AS n, coalesce(sum(length(data)), 0) AS size, coalesce(max(c.n), -1) AS top
    INTO got FROM hub.image_chunks c WHERE c.sha256 = p_sha;
  IF got.size <> p_size OR got.top <> got.n - 1 THEN
    PERFORM hub.refuse('image_size', jsonb_build_object('sha', p_sha, 'size', got.size,
                       'declared', p_size));
  END IF;
  SELECT encode(sha256(coalesce(string_agg(c.data, ''::bytea ORDER BY c.n), ''::bytea)), 'hex')
    INTO actual FROM hub.image_chunks c WHERE c.sha256 = p_sha;
  IF actual <> p_sha THEN
    PERFORM hub.refuse('image_hash', jsonb_build_object('sha', p_sha, 'actual', actual));
  END IF;
  INSERT INTO hub.images (sha256, size, chunks) VALUES (p_sha, p_size, got.n);
  RETURN true;
END $$;
"""


V2_PUT_IMAGE = f"""
-- An image of at most {WHOLE_IMAGE} bytes in one statement: hashed here as it arrives, stored
-- once (no second read of its chunks, as hub.commit_image must do for a streamed one). A second
-- push of the same image, even one running at the same time, finds it there: false.
CREATE OR REPLACE FUNCTION hub.put_image(p_sha text, p_data bytea) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE caller text; actual text;
BEGIN
  {_CALLER}
  IF p_sha !~ '^[0-9a-f]{{64}}$' THEN
    PERFORM hub.refuse('image_name', jsonb_build_object('sha', left(p_sha, 80)));
  END IF;
  IF length(p_data) > {WHOLE_IMAGE} THEN
    PERFORM hub.refuse('image_too_large', jsonb_build_object('sha', p_sha, 'size', length(p_data)));
  END IF;
  actual := encode(sha256(p_data), 'hex');
  IF actual <> p_sha THEN
    PERFORM hub.refuse('image_hash', jsonb_build_object('sha', p_sha, 'actual', actual));
  END IF;
  INSERT INTO hub.images (sha256, size, chunks) VALUES (p_sha, length(p_data), 1)
    ON CONFLICT (sha256) DO NOTHING;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO hub.image_chunks (sha256, n, data) VALUES (p_sha, 0, p_data);
  RETURN true;
END $$;
"""


V3_IMAGE_FOLDER = f"""
-- A hub may keep its images in a content-addressed folder (a network share every station
-- mounts; ``station.hub.folder``) instead of in hub.image_chunks. hub.image_folder names it (one
-- row, written by ``station hub init --images DIR``; the same id is in the folder's marker file,
-- so a station knows it mounted the right one). The server never sees that folder: the station
-- that writes an image hashes it first (an existing file is trusted only after its hash is
-- checked) and every puller hashes every image it takes; hub.image_reports lists the files a
-- puller found damaged or missing, which the next push of a station holding them rewrites.
ALTER TABLE hub.images ADD COLUMN place text NOT NULL DEFAULT '{IN_DATABASE}'
    CHECK (place IN ('{IN_DATABASE}', '{IN_FOLDER}'));
CREATE TABLE hub.image_folder (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    folder_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL DEFAULT session_user
);
CREATE TABLE hub.image_reports (
    sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{{64}}$'),
    problem text NOT NULL CHECK (problem IN ('damaged', 'missing')),
    reported_at timestamptz NOT NULL DEFAULT now(),
    reported_by text NOT NULL DEFAULT session_user
);

-- Record images a station has written (and hashed) into the hub's folder, inside its push.
CREATE OR REPLACE FUNCTION hub.record_folder_images(p_shas text[], p_sizes bigint[])
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE caller text; bad text; added integer;
BEGIN
  {_CALLER}
  IF NOT EXISTS (SELECT 1 FROM hub.image_folder) THEN
    PERFORM hub.refuse('no_image_folder');
  END IF;
  IF cardinality(p_shas) IS DISTINCT FROM cardinality(p_sizes) THEN
    PERFORM hub.refuse('image_size', jsonb_build_object('sha', '-', 'size', cardinality(p_sizes),
                       'declared', cardinality(p_shas)));
  END IF;
  SELECT s INTO bad FROM unnest(p_shas) s WHERE s IS NULL OR s !~ '^[0-9a-f]{{64}}$' LIMIT 1;
  IF FOUND THEN
    PERFORM hub.refuse('image_name', jsonb_build_object('sha', left(coalesce(bad, ''), 80)));
  END IF;
  SELECT s INTO bad FROM unnest(p_shas, p_sizes) u(s, n)
   WHERE n IS NULL OR n < 0 OR n > {MAX_IMAGE_BYTES} LIMIT 1;
  IF FOUND THEN
    PERFORM hub.refuse('image_too_large', jsonb_build_object('sha', bad, 'size', '?'));
  END IF;
  INSERT INTO hub.images (sha256, size, chunks, place)
    SELECT s, n, 0, '{IN_FOLDER}' FROM unnest(p_shas, p_sizes) u(s, n)
    ON CONFLICT (sha256) DO NOTHING;
  GET DIAGNOSTICS added = ROW_COUNT;
  RETURN added;
END $$;

-- A puller reports a folder image it found damaged or missing (p_problem), a station that
-- rewrote it from its own verified copy clears the report (p_problem NULL). Reports only ask
-- for a repair: every puller hashes every image it takes whatever they say.
CREATE OR REPLACE FUNCTION hub.report_image(p_sha text, p_problem text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE caller text;
BEGIN
  {_CALLER}
  IF p_sha !~ '^[0-9a-f]{{64}}$' THEN
    PERFORM hub.refuse('image_name', jsonb_build_object('sha', left(p_sha, 80)));
  END IF;
  IF p_problem IS NULL THEN
    DELETE FROM hub.image_reports WHERE sha256 = p_sha;
  ELSE
    INSERT INTO hub.image_reports (sha256, problem) VALUES (p_sha, p_problem)
      ON CONFLICT (sha256) DO UPDATE SET problem = excluded.problem, reported_at = now(),
                                         reported_by = session_user;
  END IF;
END $$;
"""


# v5: who may say what about a folder image. A report names an image the hub holds in its
# folder; only the station that stored it (or the hub's owner) may clear one — any station could
# otherwise hide a damaged file from the repair (or plant reports of images that are not there).
V5_REPORTS = f"""
CREATE OR REPLACE FUNCTION hub.report_image(p_sha text, p_problem text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE caller text;
BEGIN
  {_CALLER}
  IF p_sha IS NULL OR p_sha !~ '^[0-9a-f]{{64}}$' THEN
    PERFORM hub.refuse('image_name', jsonb_build_object('sha', left(coalesce(p_sha, ''), 80)));
  END IF;
  IF NOT EXISTS (SELECT 1 FROM hub.images WHERE sha256 = p_sha AND place = '{IN_FOLDER}') THEN
    PERFORM hub.refuse('image_not_held', jsonb_build_object('sha', p_sha));
  END IF;
  IF p_problem IS NULL THEN
    IF caller IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM hub.images WHERE sha256 = p_sha AND stored_by = session_user) THEN
      PERFORM hub.refuse('not_image_holder', jsonb_build_object('sha', p_sha, 'station', caller));
    END IF;
    DELETE FROM hub.image_reports WHERE sha256 = p_sha;
  ELSE
    INSERT INTO hub.image_reports (sha256, problem) VALUES (p_sha, p_problem)
      ON CONFLICT (sha256) DO UPDATE SET problem = excluded.problem, reported_at = now(),
                                         reported_by = session_user;
  END IF;
END $$;
"""


# v6: what a purge masked at the hub (``station.hub.purge``), push by push: when, by which store's
# operator and under which role. A push whose lines a purge replaced no longer matches its
# station's signature; a store that had not pulled it yet is told that it was purged, by whom and
# when, instead of "changed after signing". Only the hub's owner writes here (station roles read).
V6_PURGES = """
CREATE TABLE hub.purges (
    push_id uuid NOT NULL REFERENCES hub.pushes,
    lines integer NOT NULL CHECK (lines > 0),
    by_station text,
    by_operator text,
    purged_at timestamptz NOT NULL DEFAULT now(),
    purged_by text NOT NULL DEFAULT session_user
);
CREATE INDEX purges_push ON hub.purges (push_id, purged_at);
"""


@dataclass(frozen=True)
class Migration:
    version: int
    sql: str
    what: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, ED25519 + V1_TABLES + _REFUSE + V1_POLICIES + V1_FUNCTIONS,
              "stations, pushes, facts, images; Ed25519 and the push and image checks"),
    Migration(2, V2_PUT_IMAGE, "images in one statement, hashed as they arrive"),
    Migration(3, V3_IMAGE_FOLDER, "images in a content-addressed folder named by the hub"),
    Migration(4, _commit_push(_MEMBERS_V4), "a push's images checked by their key"),
    Migration(5, V5_REPORTS, "only the station that stored a folder image clears its report"),
    Migration(6, V6_PURGES, "which pushes a purge masked at the hub, when and by whom"),
)
LATEST = MIGRATIONS[-1].version
