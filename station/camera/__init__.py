"""Tethered cameras behind one interface: gphoto2 (real), virtual (libgphoto2's vcamera), sim."""
