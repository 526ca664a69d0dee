-- issue 7 (helper B): operator-made administrators, and certificate history
-- that tells "expired" apart from "invalidated".

-- Actors created or reset by the operator with `p2core-home-server admin …`.
-- Only those may use administrator routes (with their FID given by --admin).
ALTER TABLE actors ADD COLUMN operator_made INTEGER NOT NULL DEFAULT 0;

-- `closed_at`: when the certificate stopped holding its session ID (invalidated,
-- or retired after it expired). `invalidated_at` is now set only by rotation,
-- session deletion or revocation, and is what GET /idcert/actor reports.
ALTER TABLE id_certs ADD COLUMN closed_at INTEGER;
UPDATE id_certs SET closed_at = invalidated_at WHERE invalidated_at IS NOT NULL;
-- Before this migration a certificate that merely expired was marked invalidated
-- at exactly its notAfter when its session ID was reused; undo that. (A real
-- invalidation in the very second of notAfter is also cleared: harmless, the
-- certificate ended then anyway.)
UPDATE id_certs SET invalidated_at = NULL WHERE invalidated_at = not_after;

DROP INDEX id_certs_live_session;
CREATE UNIQUE INDEX id_certs_open_session ON id_certs(actor_id, session_id) WHERE closed_at IS NULL;

-- Any invalidation also closes the certificate, whoever writes it.
CREATE TRIGGER id_certs_invalidation_closes AFTER UPDATE OF invalidated_at ON id_certs
    WHEN NEW.invalidated_at IS NOT NULL AND NEW.closed_at IS NULL
BEGIN
    UPDATE id_certs SET closed_at = NEW.invalidated_at WHERE id = NEW.id;
END;

CREATE INDEX key_packages_cert ON key_packages(cert_serial);
