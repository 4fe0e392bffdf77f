"""Everything simulated, in one place: no hardware, no personal data.

- ``portrait``   rendered portraits with known geometry (and each defect the checks look for);
- ``frames``     moving portraits, the simulated camera's picture source;
- ``identities`` made-up ID-card identities, one per card layout;
- ``roster``     the reference schedule and a generated roster that matches it;
- ``demo``       a demo station: store, schedule, roster, operators, the cards to tap;
- ``simulate``   `station simulate`: N students end to end with an automated operator.

The simulated *drivers* stay with their interfaces (``station.camera.sim.SimCamera``,
``station.idcard.readers.sim``); their content comes from here.
"""
