"""The capture service layer: one desk's session (``service.CaptureService``), its state machine
(``states``), the plain data it hands out (``model``), its adapters to the store, the roster and
the checks (``ports``), manual identity entry (``manual``) and review corrections (``review``).

Devices are not here (``station.devices``), nor demo set-up (``station.sim``) or read models for
screens (``station.store.dashboard``, ``station.store.review``).
"""
