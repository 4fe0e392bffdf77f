"""Store check of `station doctor`: a quick SQLite check and the audit chain (`station fsck` is
the full one: images are re-hashed there)."""

from __future__ import annotations

from pathlib import Path

from station.doctor.check import DoctorCheck


def check_store(data_dir: Path) -> DoctorCheck:
    from station.store import open_store
    from station.store.core import DB_NAME

    if not (data_dir / DB_NAME).exists():
        return DoctorCheck.from_key("store", "integrity", "warn", "doctor.store_missing",
                                    path=str(data_dir))
    from station.errors import StationError

    try:
        store = open_store(data_dir, access="auto")
    except StationError as exc:  # a damaged database or an unusable medium, in words
        return DoctorCheck.from_key("store", "integrity", "fail", exc.key, {}, **exc.params)
    with store:
        quick = store.quick_check()
        chain = store.audit.verify()
        if quick != ["ok"] or chain:
            return DoctorCheck.from_key("store", "integrity", "fail", "doctor.store_bad",
                                        {"sqlite": quick, "audit": [p.to_json() for p in chain]},
                                        problems=len(chain) + (quick != ["ok"]))
        if not store.initialized:
            return DoctorCheck.from_key("store", "integrity", "warn", "store.not_initialized")
        return DoctorCheck.from_key("store", "integrity", "pass", "doctor.store_ok",
                                    {"station_id": store.station_id}, station=store.station_id)
